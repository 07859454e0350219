"""Public routes (no account, rate limited): the open-day listing, booking, a booking by its code."""

import datetime as dt
from typing import Any, Literal

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.registration.api.venues import OpenDay
from services.registration.domain.tickets import ISSUER, public_key, qr_png
from services.registration.service import bookings, opendays
from shared.app import RuntimeDep, api_router
from shared.contracts.registration import OrgType, PricePolicy
from shared.http import Cursor, IdempotencyKey, Limit, PublicRateLimit
from shared.openapi import problem_responses
from shared.problems import Problem
from shared.times import Day

router = api_router("/public", tags=["public"])


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=r"^1[3-9]\d{9}$", description="中国大陆手机号 / mainland mobile number")
    party_size: int = Field(default=1, ge=1, le=50)
    waitlist_if_full: bool = False


class Booking(BaseModel):
    id: str
    code: str
    status: Literal["confirmed", "waitlisted", "offered", "cancelled", "expired"]
    session_id: str
    openday_id: str
    venue_id: str
    city_code: str
    date: dt.date
    party_size: int
    name: str
    phone: str
    price_policy: str
    starts_at: dt.datetime
    offer_expires_at: dt.datetime | None = None
    checked_in_at: dt.datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = Field(default=None, description="session_cancelled: the venue cancelled the session")
    ticket: str | None = Field(default=None, description="签名二维码内容 / signed QR token (confirmed bookings)")


class Listing(BaseModel):
    items: list[OpenDay]
    next_cursor: str | None


@router.get("/opendays", response_model=Listing)
async def list_opendays(
    request: Request,
    rt: RuntimeDep,
    _: PublicRateLimit,
    city_code: str | None = None,
    date: Day | None = None,
    org_type: OrgType | None = None,
    price_policy: PricePolicy | None = None,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> Response:
    """开放日列表（含剩余名额，至多 1 秒前）/ Published open days by city, date, type and price, with remaining seats.

    A page is serialised once and its bytes reused for a second: a spike of readers costs one query per page.
    """
    filters = {
        "city_code": city_code,
        "date": date.isoformat() if date else None,
        "org_type": org_type,
        "price_policy": price_policy,
    }
    cache = rt.cache("listing", rt.settings.registration_listing_cache_s)
    key = (*filters.values(), cursor, limit)
    page: bytes | None = cache.get(key)
    if page is None:
        listing = Listing.model_validate(await opendays.public_listing(rt, filters, cursor, limit))
        page = listing.model_dump_json().encode()
        cache.put(key, page)
    return Response(page, media_type="application/json")


@router.get("/opendays/{openday_id}", response_model=OpenDay)
async def get_openday(openday_id: str, rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """开放日详情（含剩余名额）/ One published open day with each session's remaining seats."""
    return await opendays.public_openday(rt, openday_id)


@router.get("/programme")
async def programme(rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """活动周日期与城市（供筛选）/ The programme's dates and cities, for the apps' filters."""
    p = rt.programme
    cities = [{"code": c.code, "name": c.name} for c in p.cities]
    return {"name": p.name, "start": p.start, "end": p.end, "timezone": p.timezone, "cities": cities}


@router.get("/ticket-key")
async def ticket_key(rt: RuntimeDep, _: PublicRateLimit) -> Response:
    """验票公钥（Ed25519 JWK）：门口设备离线验票 / The public key that verifies tickets offline at the door."""
    key = public_key(rt.settings.registration_qr_secret.get_secret_value())
    return JSONResponse({"alg": "EdDSA", "issuer": ISSUER, **key}, headers={"Cache-Control": "public, max-age=3600"})


@router.post("/bookings", status_code=201, response_model=Booking, responses=problem_responses(404))  # no such session
async def book(
    body: BookingIn, request: Request, rt: RuntimeDep, _: PublicRateLimit, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """预约场次；约满时返回 409 session_full，或按 waitlist_if_full 加入候补 / Book seats (or join the waiting list)."""
    sessions = rt.cache("sessions", rt.settings.registration_listing_cache_s)
    view = await bookings.book(rt, body.model_dump(), idempotency_key, sessions)
    return JSONResponse(view, status_code=201)


@router.get("/bookings/{code}", response_model=Booking)
async def get_booking(code: str, rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """凭预约码查看 / A booking by its code (with its signed ticket once confirmed)."""
    return bookings.booking_view(rt, await bookings.find_by_code(rt, code))


@router.get(
    "/bookings/{code}/qr.png", responses={200: {"content": {"image/png": {}}}, **problem_responses(409)}
)  # 409: no ticket before the booking is confirmed
async def booking_qr(code: str, rt: RuntimeDep, _: PublicRateLimit) -> Response:
    """入场二维码 / The ticket as a QR image (confirmed bookings)."""
    view = bookings.booking_view(rt, await bookings.find_by_code(rt, code))
    if view["ticket"] is None:
        raise Problem(409, "not_confirmed", detail="预约未确认，无入场码 / no ticket until the booking is confirmed")
    return Response(qr_png(view["ticket"]), media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.post("/bookings/{code}/cancel", response_model=Booking)
async def cancel_booking(code: str, rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """凭预约码取消（重复取消无副作用）/ Cancel with your booking code; seats pass to the waiting list."""
    doc = await bookings.find_by_code(rt, code)
    return bookings.booking_view(rt, await bookings.cancel_booking(rt, doc["_id"], "booker"))


@router.post("/bookings/{code}/accept", response_model=Booking)
async def accept_offer(code: str, rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """接受候补名额 / Accept a waiting-list offer before it expires."""
    doc = await bookings.find_by_code(rt, code)
    return bookings.booking_view(rt, await bookings.accept_offer(rt, doc["_id"]))
