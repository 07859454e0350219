"""Venue operators' and coordinators' routes: venues, their review, open days."""

from datetime import date, datetime, time
from typing import Any, Literal

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.registration.api.access import Operator, OperatorOrCoordinator
from services.registration.service import bookings, opendays, venues
from shared.app import RuntimeDep, api_router
from shared.auth import Coordinator
from shared.contracts.registration import OrgType, PricePolicy
from shared.http import Cursor, IdempotencyKey, IfMatch, Limit, etag
from shared.times import Day, Instant

router = api_router(tags=["venues"])


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(pattern=r"^[0-9+\-() ]{5,30}$")


class VenueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    org_type: OrgType
    city_code: str = Field(pattern=r"^\d{6}$")
    address: str = Field(default="", max_length=300)
    location: Location | None = None
    contact: Contact | None = None
    tracks_exit: bool = False


class Venue(VenueIn):
    id: str
    status: str
    owner: str
    reason: str | None = None
    version: int = 1


class VenueEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    location: Location | None = None
    contact: Contact | None = None
    tracks_exit: bool | None = None


class VenuePage(BaseModel):
    items: list[Venue]
    next_cursor: str | None


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


@router.post("/venues", status_code=201, response_model=Venue)
async def register_venue(
    body: VenueIn, rt: RuntimeDep, actor: Operator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """登记开放场馆（待审核）/ Register a venue; it awaits approval by the city."""
    view = await venues.register_venue(rt, actor, body.model_dump(mode="json"), idempotency_key)
    return JSONResponse(view, status_code=201)


@router.get("/venues", response_model=VenuePage)
async def list_venues(
    rt: RuntimeDep,
    actor: OperatorOrCoordinator,
    status: Literal["pending", "approved", "rejected"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """场馆列表（按权限范围）/ Venues within the caller's scope."""
    return await venues.list_venues(rt, actor, status, cursor, limit)


@router.get("/venues/{venue_id}", response_model=Venue)
async def get_venue(venue_id: str, rt: RuntimeDep, actor: OperatorOrCoordinator) -> JSONResponse:
    """查看场馆（含 ETag）/ One venue, within the caller's scope (404 outside it)."""
    view = venues.venue_view(await venues.get_venue(rt, actor, venue_id))
    return JSONResponse(view, headers={"ETag": etag(view["version"])})


@router.patch("/venues/{venue_id}", response_model=Venue)
async def edit_venue(
    venue_id: str, body: VenueEdit, rt: RuntimeDep, actor: Operator, if_match: IfMatch = None
) -> JSONResponse:
    """修改场馆信息（需 If-Match）/ Correct your venue's name, address, location, contact or exit tracking."""
    changes = body.model_dump(mode="json", exclude_none=True)
    view = venues.venue_view(await venues.edit_venue(rt, actor, venue_id, changes, if_match))
    return JSONResponse(view, headers={"ETag": etag(view["version"])})


@router.post("/venues/{venue_id}/approve", response_model=Venue)
async def approve_venue(
    venue_id: str, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """审核通过（本市）/ Approve a pending venue of your city."""
    view = await venues.review_venue(rt, actor, venue_id, True, "", idempotency_key)
    return JSONResponse(view, status_code=200)


@router.post("/venues/{venue_id}/reject", response_model=Venue)
async def reject_venue(
    venue_id: str, body: Rejection, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """审核不通过（须说明理由）/ Reject a pending venue of your city, with a reason."""
    view = await venues.review_venue(rt, actor, venue_id, False, body.reason, idempotency_key)
    return JSONResponse(view, status_code=200)


class SlotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: time
    end: time
    capacity: int = Field(default=0, ge=0, le=100_000)


class OpenDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(
        default=None, min_length=8, max_length=64, description="client-generated id: retries are safe"
    )
    date: Day
    price_policy: PricePolicy = "free"
    normal_price: float | None = Field(default=None, gt=0)
    online: bool = False
    online_url: str | None = Field(default=None, pattern=r"^https?://", max_length=500)
    booking_opens_at: Instant | None = None
    booking_closes_at: Instant | None = None
    max_group_size: int = Field(default=5, ge=1, le=50)
    sessions: list[SlotIn] = Field(default_factory=list, max_length=48)


class OpenDayEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    booking_opens_at: Instant | None = None
    booking_closes_at: Instant | None = None
    max_group_size: int | None = Field(default=None, ge=1, le=50)
    normal_price: float | None = Field(default=None, gt=0)


class SessionOut(BaseModel):
    session_id: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    cancelled: bool = False
    remaining: int | None = None


class OpenDay(BaseModel):
    id: str
    venue_id: str
    venue_name: str
    venue_address: str = ""
    city_code: str
    org_type: str
    date: date
    price_policy: str
    normal_price: float | None
    online: bool
    online_url: str | None
    booking_opens_at: datetime
    booking_closes_at: datetime
    max_group_size: int
    status: str
    version: int
    sessions: list[SessionOut]


def _with_etag(doc: dict[str, Any], status: int = 200) -> JSONResponse:
    body = OpenDay.model_validate(opendays.openday_view(doc)).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={"ETag": etag(doc["version"])})


@router.post("/venues/{venue_id}/opendays", status_code=201, response_model=OpenDay)
async def create_openday(venue_id: str, body: OpenDayIn, rt: RuntimeDep, actor: Operator) -> JSONResponse:
    """新建开放日（草稿）/ Draft an open day with its sessions; publish it once the venue is approved."""
    return _with_etag(await opendays.create_openday(rt, actor, venue_id, body.model_dump()), 201)


@router.get("/venues/{venue_id}/opendays", response_model=list[OpenDay])
async def list_venue_opendays(venue_id: str, rt: RuntimeDep, actor: Operator) -> list[dict[str, Any]]:
    """本场馆的开放日 / The open days of a venue you operate."""
    return await opendays.list_venue_opendays(rt, actor, venue_id)


@router.get("/opendays/{openday_id}", response_model=OpenDay)
async def get_openday(openday_id: str, rt: RuntimeDep, actor: Operator) -> JSONResponse:
    """查看开放日（含 ETag）/ One open day of a venue you operate, with its ETag."""
    return _with_etag(await opendays.operated_openday(rt, actor, openday_id))


@router.patch("/opendays/{openday_id}", response_model=OpenDay)
async def edit_openday(
    openday_id: str, body: OpenDayEdit, rt: RuntimeDep, actor: Operator, if_match: IfMatch = None
) -> JSONResponse:
    """修改开放日（需 If-Match）/ Edit the booking window, group size or normal price (If-Match)."""
    changes = body.model_dump(exclude_none=True)
    return _with_etag(await opendays.edit_openday(rt, actor, openday_id, changes, if_match))


@router.post("/opendays/{openday_id}/publish", response_model=OpenDay)
async def publish_openday(openday_id: str, rt: RuntimeDep, actor: Operator) -> Response:
    """发布开放日（场馆须已通过审核）/ Publish an open day (the venue must be approved); repeating is a no-op."""
    return _with_etag(await opendays.publish_openday(rt, actor, openday_id))


@router.post("/opendays/{openday_id}/sessions/{session_id}/cancel", response_model=OpenDay)
async def cancel_session(openday_id: str, session_id: str, rt: RuntimeDep, actor: Operator) -> Response:
    """取消场次：其预约全部取消，预约者可见（重复取消无副作用）/ Cancel a session and its bookings (idempotent)."""
    openday = await opendays.operated_openday(rt, actor, openday_id)
    return _with_etag(await bookings.cancel_session(rt, openday, session_id))
