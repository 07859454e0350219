"""Open days: drafted and edited by the venue's operator, published once the venue is approved."""

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from services.registration.domain import rules
from services.registration.service.common import not_found, operated_by
from services.registration.store import OPENDAYS, SEATS, VENUES
from shared.auth import Principal
from shared.contracts.registration import OpenDayPublished, SessionSlot
from shared.http import decode_cursor, encode_cursor, lost_update, require_match
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

EDITABLE = ("booking_opens_at", "booking_closes_at", "max_group_size", "normal_price")


def openday_view(doc: dict[str, Any], remaining: dict[str, int] | None = None) -> dict[str, Any]:
    """The API shape of an open day, with remaining seats when given."""
    sessions = [
        {k: s[k] for k in ("session_id", "starts_at", "ends_at", "capacity")}
        | {"cancelled": bool(s.get("cancelled"))}
        | ({"remaining": remaining.get(s["session_id"], 0)} if remaining is not None else {})
        for s in doc["sessions"]
    ]
    keep = ("venue_id", "venue_name", "city_code", "org_type", "date", "price_policy", "normal_price", "online")
    more = ("online_url", "booking_opens_at", "booking_closes_at", "max_group_size", "status", "version")
    address = doc.get("venue_address") or ""
    return {"id": doc["_id"], **{k: doc.get(k) for k in keep + more}, "venue_address": address, "sessions": sessions}


async def create_openday(uow: UnitOfWork, actor: Principal, venue_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Draft an open day; a retry with the same client-generated id returns the first draft."""
    venue = await uow.db[VENUES].find_one({"_id": venue_id, **operated_by(actor)})
    if venue is None:
        raise not_found("venue")
    doc = _draft(uow, venue, body)
    rules.check_booking_window(doc["booking_opens_at"], doc["booking_closes_at"])
    seats = [
        {
            "_id": s["session_id"],
            "openday_id": doc["_id"],
            "capacity": s["capacity"],
            "remaining": s["capacity"],
            "taken": 0,
        }
        for s in doc["sessions"]
    ]

    async def txn(session: Session) -> dict[str, Any]:
        prior = await uow.db[OPENDAYS].find_one({"_id": doc["_id"]}, session=session)
        if prior is not None:  # a phone retrying with its client-generated id gets the first answer
            if prior["venue_id"] != venue_id:
                raise RuleViolation("openday_id_taken", "开放日编号已被使用 / open day id already used")
            return prior
        await uow.db[OPENDAYS].insert_one(doc, session=session)
        if seats:
            await uow.db[SEATS].insert_many(seats, session=session)
        return doc

    return await uow.commit(txn)


def _draft(uow: UnitOfWork, venue: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    day: date = body["date"]
    slots = [rules.SlotIn(s["start"], s["end"], 0 if body["online"] else s["capacity"]) for s in body["sessions"]]
    rules.check_open_day(day, uow.programme.start, uow.programme.end, body["online"], body.get("online_url"), slots)
    rules.check_price(body["price_policy"], body.get("normal_price"))
    tz = ZoneInfo(uow.programme.timezone)
    sessions = [
        {"session_id": str(uuid.uuid4()), "starts_at": start, "ends_at": end, "capacity": capacity}
        for start, end, capacity in rules.session_times(day, slots, tz)
    ]
    last_start = sessions[-1]["starts_at"] if sessions else datetime.combine(day, time(23, 59), tz)
    now = uow.clock.now()
    return {
        "_id": body.get("id") or str(uuid.uuid4()),
        "venue_id": venue["_id"],
        "venue_name": venue["name"],
        "venue_address": venue.get("address") or "",
        "city_code": venue["city_code"],
        "org_type": venue["org_type"],
        "date": day.isoformat(),
        **{k: body.get(k) for k in ("price_policy", "normal_price", "online", "online_url", "max_group_size")},
        "booking_opens_at": body.get("booking_opens_at") or now,
        "booking_closes_at": body.get("booking_closes_at") or last_start,
        "sessions": sessions,
        "status": "draft",
        "version": 1,
        "created_at": now,
    }


async def operated_openday(uow: UnitOfWork, actor: Principal, openday_id: str) -> dict[str, Any]:
    """An open day of a venue the caller operates; 404 for any other (its existence is not revealed)."""
    doc = await uow.db[OPENDAYS].find_one({"_id": openday_id})
    if doc is None or await uow.db[VENUES].count_documents({"_id": doc["venue_id"], **operated_by(actor)}) == 0:
        raise not_found("openday")
    return doc


async def edit_openday(
    uow: UnitOfWork, actor: Principal, openday_id: str, changes: dict[str, Any], if_match: str | None
) -> dict[str, Any]:
    """Change the booking window, group size or normal price of an open day (If-Match)."""
    doc = await operated_openday(uow, actor, openday_id)
    require_match(if_match, doc["version"])
    merged = {**doc, **changes}
    rules.check_booking_window(merged["booking_opens_at"], merged["booking_closes_at"])
    rules.check_price(merged["price_policy"], merged.get("normal_price"))
    result = await uow.db[OPENDAYS].update_one(
        {"_id": openday_id, "version": doc["version"]}, {"$set": changes, "$inc": {"version": 1}}
    )
    if result.modified_count != 1:  # edited or published since we read it: their change stands, ours is refused
        raise lost_update(if_match)
    fresh = await uow.db[OPENDAYS].find_one({"_id": openday_id})
    assert fresh is not None
    return fresh


async def publish_openday(uow: UnitOfWork, actor: Principal, openday_id: str) -> dict[str, Any]:
    """Publish a draft of an approved venue; its event is recorded exactly once."""
    doc = await operated_openday(uow, actor, openday_id)
    venue = await uow.db[VENUES].find_one({"_id": doc["venue_id"]})
    if venue is None or venue["status"] != "approved":
        raise RuleViolation("venue_not_approved", "场馆尚未通过审核 / the venue is not approved yet")
    if doc["status"] == "published":
        return doc
    data = OpenDayPublished(
        openday_id=doc["_id"],
        venue_id=doc["venue_id"],
        city_code=doc["city_code"],
        org_type=doc["org_type"],
        date=date.fromisoformat(doc["date"]),
        price_policy=doc["price_policy"],
        online=doc["online"],
        sessions=[
            SessionSlot(**{k: s[k] for k in ("session_id", "starts_at", "ends_at", "capacity")})
            for s in doc["sessions"]
        ],
    )

    async def txn(session: Session) -> dict[str, Any]:
        done = await uow.db[OPENDAYS].update_one(
            {"_id": openday_id, "status": "draft"},
            {"$set": {"status": "published", "published_at": uow.clock.now()}, "$inc": {"version": 1}},
            session=session,
        )
        if done.modified_count == 1:  # published exactly once, whoever asks twice
            await uow.events.emit(session, data, subject=f"openday/{openday_id}")
        fresh = await uow.db[OPENDAYS].find_one({"_id": openday_id}, session=session)
        assert fresh is not None
        return fresh

    return await uow.commit(txn)


async def list_venue_opendays(uow: UnitOfWork, actor: Principal, venue_id: str) -> list[dict[str, Any]]:
    """The open days of a venue the caller operates, with remaining seats."""
    if await uow.db[VENUES].count_documents({"_id": venue_id, **operated_by(actor)}) == 0:
        raise not_found("venue")
    docs = await uow.db[OPENDAYS].find({"venue_id": venue_id}, sort=[("date", 1)], limit=200).to_list()
    return [openday_view(d, await remaining_seats(uow, [d])) for d in docs]


async def remaining_seats(uow: UnitOfWork, opendays: list[dict[str, Any]]) -> dict[str, int]:
    """Remaining seats per session of these open days."""
    ids = [d["_id"] for d in opendays]
    seats = uow.db[SEATS].find({"openday_id": {"$in": ids}}, {"remaining": 1})
    return {s["_id"]: s["remaining"] async for s in seats}


class DateAndId(BaseModel):
    """The public listing's cursor: the date and id the previous page ended with."""

    d: str = Field(default="", max_length=10)
    i: str = Field(default="", max_length=200)


async def public_listing(uow: UnitOfWork, filters: dict[str, Any], cursor: str | None, limit: int) -> dict[str, Any]:
    """Published open days matching `filters`, by date, with each session's remaining seats."""
    query: dict[str, Any] = {"status": "published", **{k: v for k, v in filters.items() if v is not None}}
    if cursor:
        after = decode_cursor(cursor, DateAndId)
        query["$or"] = [{"date": {"$gt": after.d}}, {"date": after.d, "_id": {"$gt": after.i}}]
    docs = await uow.db[OPENDAYS].find(query, sort=[("date", 1), ("_id", 1)], limit=limit + 1).to_list()
    page = docs[:limit]
    remaining = await remaining_seats(uow, page)
    items = [openday_view(d, remaining) for d in page]
    last = page[-1] if page else None
    more = len(docs) > limit and last is not None
    return {
        "items": items,
        "next_cursor": encode_cursor({"d": last["date"], "i": last["_id"]}) if more and last else None,
    }


async def public_openday(uow: UnitOfWork, openday_id: str) -> dict[str, Any]:
    """One published open day with each session's remaining seats; 404 for drafts."""
    doc = await uow.db[OPENDAYS].find_one({"_id": openday_id, "status": "published"})
    if doc is None:
        raise not_found("openday")
    return openday_view(doc, await remaining_seats(uow, [doc]))
