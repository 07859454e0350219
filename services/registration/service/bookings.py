"""Public bookings: seats taken atomically, per-phone daily caps, cancellation, the waiting list and its offers."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from services.registration import store
from services.registration.domain import rules
from services.registration.domain.tickets import sign_ticket
from services.registration.service.common import not_found, operated_by
from services.registration.store import BOOKINGS, OPENDAYS, PHONE_DAYS, SEATS, VENUES
from shared.auth import Principal
from shared.cache import TtlCache
from shared.contracts.registration import BookingCancelled, BookingConfirmed, BookingPromoted, BookingWaitlisted
from shared.group_commit import Writes
from shared.http import AfterId, decode_cursor, encode_cursor, lost_update
from shared.idempotency import IDEMPOTENCY, json_safe, request_fingerprint
from shared.idempotency import record as idempotency_record
from shared.idempotency import scoped_key as idempotency_scope
from shared.mongo import Session, database_unavailable, utcnow
from shared.privacy import mask_phone
from shared.rules import RuleViolation
from shared.tabular import xlsx_bytes
from shared.unit_of_work import UnitOfWork

PROMOTION_LOOKAHEAD = 50


def booking_view(uow: UnitOfWork, doc: dict[str, Any]) -> dict[str, Any]:
    """The API shape of a booking: the phone masked, the signed ticket once confirmed."""
    keep = ("code", "status", "session_id", "openday_id", "venue_id", "city_code", "date", "party_size", "name")
    more: tuple[str, ...] = ("price_policy", "starts_at", "offer_expires_at", "checked_in_at", "cancelled_by")
    more += ("cancel_reason",)
    more += ("created_at",)
    view = {"id": doc["_id"], **{k: json_safe(doc.get(k)) for k in keep + more}, "phone": mask_phone(doc["phone"])}
    secret = uow.settings.registration_qr_secret.get_secret_value()
    view["ticket"] = sign_ticket(secret, doc) if doc["status"] == "confirmed" else None
    return view


async def book(uow: UnitOfWork, fields: dict[str, Any], key: str | None, sessions: TtlCache[Any]) -> dict[str, Any]:
    """Take seats with one conditional write, then commit the booking and its event (or join the waiting list).

    A spike costs the database little: a session found full is remembered for the listing's cache time (seats freed
    meanwhile go to its waiting list first), a replay is looked up only when no seat was taken (a replay that took
    one finds its first answer in the transaction and gives the seat back), and the fresh Idempotency-Key is written
    without being read first.
    """
    scoped_key = idempotency_scope("public", "book", key)
    seat, openday = await _bookable_session(uow, fields["session_id"], sessions)
    rules.check_bookable(openday, fields["party_size"], uow.clock.now())
    booking_id = str(uuid.uuid4())
    rules.check_session_open(openday, seat["_id"])
    taken = await _take_seats(uow, seat["_id"], fields["party_size"], booking_id)
    if not taken and scoped_key is not None and (replay := await _replay(uow, scoped_key, fields)) is not None:
        return replay
    joining = not taken and fields["waitlist_if_full"]
    if joining and await uow.db[SEATS].count_documents({"_id": seat["_id"], "cancelled": True}):
        raise rules.session_cancelled()  # cancelled after the open day was cached: not even the waiting list
    if not taken and not fields["waitlist_if_full"]:
        raise RuleViolation(
            "session_full",
            "该场次已约满，可加入候补名单 / session full: you may join the waiting list",
            waitlist_available=True,
        )
    doc = _new_booking(booking_id, fields, seat, openday, "confirmed" if taken else "waitlisted", uow.clock.now())
    body = booking_view(uow, doc)
    writes = _booking_writes(uow, doc)
    if scoped_key is not None:  # written without being read first: its unique _id refuses a key used before
        writes.insert(IDEMPOTENCY, idempotency_record(scoped_key, request_fingerprint(fields), body))
    if taken:
        store.settle_hold_later(writes, seat["_id"], booking_id)
    try:
        await uow.commit_writes(writes)  # with the other bookings arriving meanwhile: one transaction
    except Exception as exc:
        if taken and not database_unavailable(exc):  # refused, so nothing was committed: the seats go back now
            await store.give_back_seats(uow.db, seat["_id"], booking_id)
        # an outage (or this request cancelled) leaves the outcome unknown: the hold stays, and `reclaim_holds`
        # returns its seats unless the booking turns out committed
        if not isinstance(exc, DuplicateKeyError):
            raise
        # the key's first request (a replay of this one) committed first: its answer; else the phone's day is full
        if scoped_key is not None and (replay := await _replay(uow, scoped_key, fields)) is not None:
            return replay
        refusal = _cap_reached(uow, exc)
        if refusal is not None:
            raise refusal from None
        raise
    return body


async def _take_seats(uow: UnitOfWork, session_id: str, party_size: int, booking_id: str) -> bool:
    """`store.take_seats`, skipped while this replica saw the session too full for this party within the last second."""
    full = _full_sessions(uow)
    smallest_refused = full.get(session_id)
    if smallest_refused is not None and party_size >= smallest_refused:
        return False
    taken = await store.take_seats(uow.db, session_id, party_size, booking_id)
    if not taken:
        full.put(session_id, min(party_size, smallest_refused or party_size))
    return taken


def _full_sessions(uow: UnitOfWork) -> TtlCache[int]:
    """Sessions this replica found full, with the smallest party refused: kept as long as the listing's pages."""
    return uow.cache("full_sessions", uow.settings.registration_listing_cache_s)


async def _replay(uow: UnitOfWork, scoped_key: str, fields: dict[str, Any]) -> dict[str, Any] | None:
    prior = await uow.prior_answer(scoped_key)
    if prior is None:
        return None
    if prior["fingerprint"] != request_fingerprint(fields):
        raise RuleViolation("idempotency_key_reused", "幂等键已用于不同的请求 / Idempotency-Key reused", "invalid")
    return dict(prior["body"])


async def _bookable_session(
    uow: UnitOfWork, session_id: str, sessions: TtlCache[Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The session's seat counter and its open day; a spike reads them once a second, not once a request.

    Only the open day's rules are cached (window, group size); seats are always taken from the database.
    """
    cached = sessions.get(session_id)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    seat = await uow.db[SEATS].find_one({"_id": session_id}, {"openday_id": 1})
    openday = await uow.db[OPENDAYS].find_one({"_id": seat["openday_id"]}) if seat else None
    if seat is None or openday is None or openday["status"] != "published":
        raise RuleViolation("session_not_found", "场次不存在 / no such session", "not_found")
    sessions.put(session_id, (seat, openday))
    return seat, openday


def _new_booking(
    booking_id: str, fields: dict[str, Any], seat: dict[str, Any], openday: dict[str, Any], status: str, now: datetime
) -> dict[str, Any]:
    slot = next(s for s in openday["sessions"] if s["session_id"] == seat["_id"])
    return {
        "_id": booking_id,
        "code": rules.booking_code(),
        "status": status,
        "session_id": seat["_id"],
        "openday_id": openday["_id"],
        "venue_id": openday["venue_id"],
        "city_code": openday["city_code"],
        "date": openday["date"],
        "price_policy": openday["price_policy"],
        "starts_at": slot["starts_at"],
        "party_size": fields["party_size"],
        "name": fields["name"],
        "phone": fields["phone"],
        "queued_at": now if status == "waitlisted" else None,
        "offer_expires_at": None,
        "checked_in_at": None,
        "created_at": now,
    }


def _booking_writes(uow: UnitOfWork, doc: dict[str, Any]) -> Writes:
    """The booking, its event and one more live booking for the phone's day: an upsert that fails at the cap
    (anti-hoarding)."""
    writes = Writes()
    cap = uow.settings.registration_bookings_per_phone_day
    phone_day = {"_id": f"{doc['phone']}:{doc['date']}", "count": {"$lt": cap}}
    writes.update(PHONE_DAYS, phone_day, {"$inc": {"count": 1}}, upsert=True)
    writes.insert(BOOKINGS, doc)
    if doc["status"] == "confirmed":
        event: BaseModel = _confirmed(doc)
    else:
        event = BookingWaitlisted(booking_id=doc["_id"], **_facts(doc))
    writes.events.append(uow.events.new(event, subject=f"booking/{doc['_id']}"))
    return writes


def _cap_reached(uow: UnitOfWork, exc: DuplicateKeyError) -> RuleViolation | None:
    """The upsert of a phone-day at its cap collides with the existing document: that is the refusal."""
    if PHONE_DAYS not in str(exc):
        return None
    cap = uow.settings.registration_bookings_per_phone_day
    return RuleViolation(
        "daily_cap_reached", f"同一手机号每天最多预约 {cap} 次 / at most {cap} bookings per phone per day"
    )


def _facts(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": doc["session_id"],
        "venue_id": doc["venue_id"],
        "city_code": doc["city_code"],
        "date": date.fromisoformat(doc["date"]),
        "party_size": doc["party_size"],
    }


def _confirmed(doc: dict[str, Any]) -> BookingConfirmed:
    return BookingConfirmed(
        booking_id=doc["_id"], openday_id=doc["openday_id"], price_policy=doc["price_policy"], **_facts(doc)
    )


async def find_by_code(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """A booking by the code its booker holds (case-insensitive); 404 otherwise."""
    doc = await uow.db[BOOKINGS].find_one({"code": code.upper()})
    if doc is None:
        raise not_found("booking")
    return doc


async def operated_booking(uow: UnitOfWork, actor: Principal, booking_id: str) -> dict[str, Any]:
    """A booking at a venue the caller operates; 404 for any other."""
    doc = await uow.db[BOOKINGS].find_one({"_id": booking_id})
    if doc is None or await uow.db[VENUES].count_documents({"_id": doc["venue_id"], **operated_by(actor)}) == 0:
        raise not_found("booking")
    return doc


async def list_bookings(
    uow: UnitOfWork, openday_id: str, status: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """An open day's bookings, paged in a stable order (the caller checks the scope)."""
    query: dict[str, Any] = {"openday_id": openday_id}
    if status:
        query["status"] = status
    if cursor:
        query["_id"] = {"$gt": decode_cursor(cursor, AfterId).after}
    docs = await uow.db[BOOKINGS].find(query, sort=[("_id", 1)], limit=limit + 1).to_list()
    items = [booking_view(uow, d) for d in docs[:limit]]
    more = len(docs) > limit
    return {"items": items, "next_cursor": encode_cursor({"after": items[-1]["id"]}) if more else None}


async def cancel_booking(uow: UnitOfWork, booking_id: str, by: str) -> dict[str, Any]:
    """Cancel a live booking; its seats pass to the waiting list in order. Cancelling twice is a no-op."""

    async def txn(session: Session) -> dict[str, Any]:
        doc = await uow.db[BOOKINGS].find_one({"_id": booking_id}, session=session)
        assert doc is not None
        if doc["status"] == "cancelled":
            return doc
        rules.check_cancellable(doc)
        await _end_booking(uow, session, doc, "cancelled", {"cancelled_by": by})
        if doc["status"] == "confirmed":  # only confirmed seats were ever counted as booked
            data = BookingCancelled(
                booking_id=doc["_id"],
                openday_id=doc["openday_id"],
                cancelled_by=by,
                **_facts(doc),
            )
            await uow.events.emit(session, data, subject=f"booking/{booking_id}")
        return {**doc, "status": "cancelled", "cancelled_by": by}

    return await uow.commit(txn)


async def _end_booking(
    uow: UnitOfWork, session: Session, doc: dict[str, Any], status: str, extra: dict[str, Any]
) -> None:
    """Move a live booking to an end state, release its phone-day slot and pass on the seats it held."""
    ended = await uow.db[BOOKINGS].update_one(
        {"_id": doc["_id"], "status": doc["status"]}, {"$set": {"status": status, **extra}}, session=session
    )
    if ended.modified_count != 1:
        raise RuleViolation("booking_changed", "预约状态已变化，请重试 / booking changed meanwhile, retry")
    await uow.db[PHONE_DAYS].update_one(
        {"_id": f"{doc['phone']}:{doc['date']}"}, {"$inc": {"count": -1}}, session=session
    )
    if doc["status"] in ("confirmed", "offered"):
        await pass_on_seats(uow, session, doc["session_id"], doc["party_size"])


async def pass_on_seats(uow: UnitOfWork, session: Session, session_id: str, freed: int) -> None:
    """Offer freed (and any remaining) seats to waiting parties in order; the rest return to the public."""
    _full_sessions(uow).discard(session_id)  # this replica stops refusing at once; others within a second
    seat = await uow.db[SEATS].find_one({"_id": session_id}, session=session)
    assert seat is not None
    waiting = await (
        uow.db[BOOKINGS]
        .find(
            {"session_id": session_id, "status": "waitlisted"},
            sort=[("queued_at", 1)],
            limit=PROMOTION_LOOKAHEAD,
            session=session,
        )
        .to_list()
    )
    now = uow.clock.now()
    expires = (
        rules.offer_expiry(now, uow.settings.registration_offer_ttl_s, waiting[0]["starts_at"]) if waiting else None
    )
    promotion = rules.promote_in_order(waiting if expires else [], seat["remaining"] + freed)
    for party in promotion.offered:
        await uow.db[BOOKINGS].update_one(
            {"_id": party["_id"], "status": "waitlisted"},
            {"$set": {"status": "offered", "offer_expires_at": expires, "offered_at": now}},
            session=session,
        )
        assert expires is not None
        data = BookingPromoted(booking_id=party["_id"], offer_expires_at=expires, **_facts(party))
        await uow.events.emit(session, data, subject=f"booking/{party['_id']}")
    await store.move_seats(uow.db, session, session_id, promotion.left - seat["remaining"])


async def accept_offer(uow: UnitOfWork, booking_id: str) -> dict[str, Any]:
    """The promoted party takes its offer: the booking is confirmed."""

    async def txn(session: Session) -> dict[str, Any]:
        doc = await uow.db[BOOKINGS].find_one({"_id": booking_id}, session=session)
        assert doc is not None
        if doc["status"] == "confirmed":
            return doc  # a retried accept
        now = uow.clock.now()
        rules.check_acceptable(doc, now)
        await uow.db[BOOKINGS].update_one(
            {"_id": booking_id, "status": "offered"},
            {"$set": {"status": "confirmed", "accepted_at": now}},
            session=session,
        )
        confirmed = {**doc, "status": "confirmed"}
        await uow.events.emit(session, _confirmed(confirmed), subject=f"booking/{booking_id}")
        return confirmed

    return await uow.commit(txn)


async def expire_offers(uow: UnitOfWork) -> int:
    """Periodic job: offers past their time expire and their seats pass to the next in line.

    Safe on every replica at once: each expiry is a conditional status change in its own transaction.
    """
    now = uow.clock.now()
    due = await uow.db[BOOKINGS].find({"status": "offered", "offer_expires_at": {"$lte": now}}, limit=100).to_list()
    expired = 0
    for doc in due:

        async def txn(session: Session, doc: dict[str, Any] = doc) -> bool:
            current = await uow.db[BOOKINGS].find_one({"_id": doc["_id"], "status": "offered"}, session=session)
            if current is None:  # accepted, cancelled or expired by another replica meanwhile
                return False
            await _end_booking(uow, session, current, "expired", {"expired_at": now})
            return True

        expired += await uow.commit(txn)
    return expired


async def reclaim_holds(uow: UnitOfWork) -> int:
    """Periodic job: seats held by a booking that never committed (its process died) go back; safe on every replica.

    A hold older than the timeout whose booking exists was committed and only lost its settle step.
    """
    older_than = utcnow() - timedelta(seconds=uow.settings.registration_hold_timeout_s)
    returned = 0
    for session_id, hold_id in await store.stale_holds(uow.db, older_than):
        if await uow.db[BOOKINGS].count_documents({"_id": hold_id}):
            await store.settle_hold(uow.db, session_id, hold_id)
        else:
            returned += await store.give_back_seats(uow.db, session_id, hold_id)
    return returned


async def cancel_session(uow: UnitOfWork, openday: dict[str, Any], session_id: str) -> dict[str, Any]:
    """The venue cancels one session: no more bookings, and every live booking of it is cancelled (bookers see why).

    Parties already checked in keep their booking. Cancelling twice is a no-op.
    """
    slot = next((s for s in openday["sessions"] if s["session_id"] == session_id), None)
    if slot is None:
        raise RuleViolation("session_not_found", "场次不存在 / no such session", "not_found")
    if slot.get("cancelled"):
        return openday
    rules.check_session_cancellable(slot, uow.clock.now())
    sessions = [{**s, "cancelled": True} if s is slot else s for s in openday["sessions"]]

    async def txn(session: Session) -> dict[str, Any]:
        done = await uow.db[OPENDAYS].update_one(
            {"_id": openday["_id"], "version": openday["version"]},
            {"$set": {"sessions": sessions}, "$inc": {"version": 1}},
            session=session,
        )
        if done.modified_count != 1:
            raise lost_update(None)
        await uow.db[SEATS].update_one(
            {"_id": session_id}, {"$set": {"cancelled": True, "remaining": 0}}, session=session
        )
        live = {"session_id": session_id, "status": {"$in": list(rules.LIVE_STATUSES)}, "checked_in_at": None}
        async for doc in uow.db[BOOKINGS].find(live, session=session):
            await _cancel_for_session(uow, session, doc)
        fresh = await uow.db[OPENDAYS].find_one({"_id": openday["_id"]}, session=session)
        assert fresh is not None
        return fresh

    return await uow.commit(txn)


async def _cancel_for_session(uow: UnitOfWork, session: Session, doc: dict[str, Any]) -> None:
    changes = {"status": "cancelled", "cancelled_by": "operator", "cancel_reason": "session_cancelled"}
    await uow.db[BOOKINGS].update_one({"_id": doc["_id"]}, {"$set": changes}, session=session)
    await uow.db[PHONE_DAYS].update_one(
        {"_id": f"{doc['phone']}:{doc['date']}"}, {"$inc": {"count": -1}}, session=session
    )
    if doc["status"] == "confirmed":
        data = BookingCancelled(
            booking_id=doc["_id"], openday_id=doc["openday_id"], cancelled_by="operator", **_facts(doc)
        )
        await uow.events.emit(session, data, subject=f"booking/{doc['_id']}")


async def door_list(uow: UnitOfWork, venue_id: str, day: date) -> list[dict[str, Any]]:
    """A venue's bookings of one day as the door needs them offline: status, party, name, and the ticket."""
    query = {"venue_id": venue_id, "date": day.isoformat(), "status": {"$ne": "waitlisted"}}
    docs = await uow.db[BOOKINGS].find(query, sort=[("_id", 1)], limit=20_000).to_list()
    keep = ("id", "code", "status", "session_id", "party_size", "name", "checked_in_at", "ticket", "starts_at")
    return [{k: v for k, v in booking_view(uow, d).items() if k in keep} for d in docs]


STATUS_ZH = {
    "confirmed": "已确认",
    "waitlisted": "候补",
    "offered": "候补待确认",
    "cancelled": "已取消",
    "expired": "已过期",
}


async def bookings_workbook(uow: UnitOfWork, openday: dict[str, Any]) -> bytes:
    """An open day's bookings as XLSX, one row per booking, by session (phones masked as in the API)."""
    tz = ZoneInfo(uow.programme.timezone)
    starts = {s["session_id"]: s["starts_at"].astimezone(tz).strftime("%H:%M") for s in openday["sessions"]}
    docs = await uow.db[BOOKINGS].find({"openday_id": openday["_id"]}, sort=[("created_at", 1)]).to_list()
    docs.sort(key=lambda d: starts.get(d["session_id"], ""))
    header = ("场次 session", "预约码 code", "姓名 name", "手机 phone", "人数 party", "状态 status", "入场 checked in")
    rows = [
        (
            starts.get(d["session_id"], ""),
            d["code"],
            d["name"],
            mask_phone(d["phone"]),
            d["party_size"],
            STATUS_ZH.get(d["status"], d["status"]),
            d["checked_in_at"].astimezone(tz).strftime("%H:%M") if d.get("checked_in_at") else "",
        )
        for d in docs
    ]
    return xlsx_bytes({f"{openday['date']} 预约名单": (header, rows)})
