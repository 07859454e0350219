"""The registration service's collections, indexes and the seat counter's atomic moves."""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.group_commit import Writes
from shared.mongo import Document, Session, utcnow

VENUES = "venues"
OPENDAYS = "opendays"
SEATS = "seats"  # one counter document per session: the only hot document of a booking spike
BOOKINGS = "bookings"
PHONE_DAYS = "phone_days"
SCANS = "scans"
PRESENCE = "presence"
ACTIVITIES = "activities"
INVITATIONS = "invitations"  # operators' one-time invitation links; their id is the issued credential's jti


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    """Indexes of the registration collections."""
    await db[VENUES].create_index([("city_code", ASCENDING), ("status", ASCENDING)])
    await db[VENUES].create_index([("owner", ASCENDING)])
    await db[OPENDAYS].create_index([("status", ASCENDING), ("date", ASCENDING), ("city_code", ASCENDING)])
    await db[OPENDAYS].create_index([("venue_id", ASCENDING), ("date", ASCENDING)])
    await db[SEATS].create_index([("openday_id", ASCENDING)])
    await db[BOOKINGS].create_index([("code", ASCENDING)], unique=True)
    await db[BOOKINGS].create_index([("session_id", ASCENDING), ("status", ASCENDING), ("queued_at", ASCENDING)])
    await db[BOOKINGS].create_index([("status", ASCENDING), ("offer_expires_at", ASCENDING)])
    await db[BOOKINGS].create_index([("openday_id", ASCENDING), ("created_at", ASCENDING)])
    await db[ACTIVITIES].create_index([("city_code", ASCENDING), ("date", ASCENDING)])
    await db[INVITATIONS].create_index([("secret_sha256", ASCENDING)], unique=True)
    await db[INVITATIONS].create_index([("city_code", ASCENDING), ("created_at", ASCENDING)])
    await db[BOOKINGS].create_index([("venue_id", ASCENDING), ("date", ASCENDING)])


async def take_seats(db: AsyncDatabase[Document], session_id: str, seats: int, hold_id: str) -> bool:
    """Take `seats` if that many remain: one conditional single-document write, no read, no transaction.

    The same write records the hold under `hold_id` (the booking's id), so seats taken by a process that died
    before committing its booking can be found and returned (see `reclaim_holds`).
    """
    result = await db[SEATS].update_one(
        {"_id": session_id, "remaining": {"$gte": seats}, "cancelled": {"$ne": True}},
        {"$inc": {"remaining": -seats, "taken": seats}, "$set": {f"holds.{hold_id}": {"n": seats, "at": utcnow()}}},
    )
    return result.modified_count == 1


async def settle_hold(db: AsyncDatabase[Document], session_id: str, hold_id: str) -> None:
    """The booking that took the seats is committed: forget its hold."""
    await db[SEATS].update_one({"_id": session_id}, _settled(hold_id))


def settle_hold_later(writes: Writes, session_id: str, hold_id: str) -> None:
    """`settle_hold` once `writes` (the booking) is committed; left undone, `reclaim_holds` settles it."""
    writes.then_update(SEATS, {"_id": session_id}, _settled(hold_id))


def _settled(hold_id: str) -> dict[str, Any]:
    return {"$unset": {f"holds.{hold_id}": ""}}


async def give_back_seats(db: AsyncDatabase[Document], session_id: str, hold_id: str) -> bool:
    """Return a hold's seats (its booking was never committed); at most once per hold."""
    seat = await db[SEATS].find_one({"_id": session_id}, {f"holds.{hold_id}": 1})
    hold = (seat or {}).get("holds", {}).get(hold_id)
    if hold is None:
        return False
    result = await db[SEATS].update_one(
        {"_id": session_id, f"holds.{hold_id}": {"$exists": True}},
        {"$inc": {"remaining": hold["n"], "taken": -hold["n"]}, "$unset": {f"holds.{hold_id}": ""}},
    )
    return result.modified_count == 1


async def stale_holds(db: AsyncDatabase[Document], older_than: datetime) -> list[tuple[str, str]]:
    """(session id, hold id) of holds taken before `older_than` and never settled."""
    found: list[tuple[str, str]] = []
    async for seat in db[SEATS].find({"holds": {"$ne": {}}}, {"holds": 1}):
        found += [(seat["_id"], hold_id) for hold_id, hold in seat.get("holds", {}).items() if hold["at"] < older_than]
    return found


async def move_seats(db: AsyncDatabase[Document], session: Session, session_id: str, delta: int) -> None:
    """Change a session's remaining seats by `delta` inside a transaction (never below zero)."""
    if delta == 0:
        return
    result = await db[SEATS].update_one(
        {"_id": session_id, "remaining": {"$gte": max(0, -delta)}},
        {"$inc": {"remaining": delta, "taken": -delta}},
        session=session,
    )
    if result.modified_count != 1:
        raise RuntimeError(f"seat counter of {session_id} cannot move by {delta}")
