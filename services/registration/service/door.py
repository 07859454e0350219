"""Door check-in: online scans, offline scans uploaded later (idempotently), exits and people inside."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.registration.domain import rules
from services.registration.domain.tickets import read_ticket
from services.registration.service.common import not_found, operated_by
from services.registration.store import BOOKINGS, PRESENCE, SCANS, VENUES
from shared.auth import Principal
from shared.contracts.registration import VisitorCheckedIn
from shared.mongo import Session
from shared.unit_of_work import UnitOfWork

CLOCK_SKEW = timedelta(minutes=5)


async def operated_venue(uow: UnitOfWork, actor: Principal, venue_id: str) -> dict[str, Any]:
    """A venue the caller operates; 404 for any other."""
    venue = await uow.db[VENUES].find_one({"_id": venue_id, **operated_by(actor)})
    if venue is None:
        raise not_found("venue")
    return venue


def _result(scan_id: str | None, admission: rules.Admission, booking: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "result": admission.outcome,
        "detail": admission.detail,
        "booking_id": booking["_id"] if booking else None,
        "party_size": booking["party_size"] if booking else None,
        "name": booking["name"] if booking else None,
        # a refused ticket that the door let in while offline must be followed up, not swallowed
        "alert": admission.outcome
        in ("booking_cancelled", "not_confirmed", "invalid_token", "wrong_day", "wrong_venue"),
    }


async def scan_ticket(
    uow: UnitOfWork, venue: dict[str, Any], token: str, scanned_at: datetime, scan_id: str | None, offline: bool
) -> dict[str, Any]:
    """One scan at the door: checked in, or the reason it is refused. With a scan_id, replays give the first answer."""
    tz = ZoneInfo(uow.programme.timezone)
    claims = read_ticket(uow.settings.registration_qr_secret.get_secret_value(), token)

    async def txn(session: Session) -> dict[str, Any]:
        if scan_id is not None:
            prior = await uow.db[SCANS].find_one({"_id": f"{venue['_id']}:{scan_id}"}, session=session)
            if prior is not None:
                return dict(prior["result"])
        result = await _admit(uow, session, venue, claims, scanned_at, tz, offline, scan_id)
        if scan_id is not None:
            await uow.db[SCANS].insert_one(
                {"_id": f"{venue['_id']}:{scan_id}", "venue_id": venue["_id"], "result": result, "at": uow.clock.now()},
                session=session,
            )
        return result

    return await uow.commit(txn)


async def _admit(
    uow: UnitOfWork,
    session: Session,
    venue: dict[str, Any],
    claims: dict[str, Any] | None,
    scanned_at: datetime,
    tz: ZoneInfo,
    offline: bool,
    scan_id: str | None,
) -> dict[str, Any]:
    if claims is None:
        return _result(scan_id, rules.Admission("invalid_token", "二维码无效或被篡改 / forged or altered ticket"), None)
    refused = rules.check_ticket(claims, venue["_id"], scanned_at.astimezone(tz).date())
    booking = await uow.db[BOOKINGS].find_one({"_id": claims["b"]}, session=session) if refused is None else None
    if refused is not None or booking is None:
        return _result(scan_id, refused or rules.Admission("booking_cancelled", "预约不存在 / no such booking"), None)
    admission = rules.admit(booking, tz)
    if admission.outcome == "checked_in":
        await _check_in(uow, session, venue, booking, scanned_at, offline)
    return _result(scan_id, admission, booking)


async def _check_in(
    uow: UnitOfWork, session: Session, venue: dict[str, Any], booking: dict[str, Any], at: datetime, offline: bool
) -> None:
    entered = await uow.db[BOOKINGS].update_one(
        {"_id": booking["_id"], "status": "confirmed", "checked_in_at": None},
        {"$set": {"checked_in_at": at, "checked_in_offline": offline, "inside": bool(venue.get("tracks_exit"))}},
        session=session,
    )
    if entered.modified_count != 1:  # the transaction's snapshot said "not yet": never report a check-in twice
        raise RuntimeError(f"booking {booking['_id']} changed during its check-in")
    data = VisitorCheckedIn(
        booking_id=booking["_id"],
        venue_id=booking["venue_id"],
        city_code=booking["city_code"],
        date=date.fromisoformat(booking["date"]),
        party_size=booking["party_size"],
        checked_in_at=at,
        offline=offline,
    )
    await uow.events.emit(session, data, subject=f"booking/{booking['_id']}")
    if venue.get("tracks_exit"):
        await _count_inside(uow, session, venue["_id"], booking["date"], booking["party_size"])


async def _count_inside(uow: UnitOfWork, session: Session, venue_id: str, day: str, people: int) -> None:
    await uow.db[PRESENCE].update_one(
        {"_id": f"{venue_id}:{day}"},
        {"$inc": {"inside": people, "entered": max(people, 0)}, "$setOnInsert": {"venue_id": venue_id, "date": day}},
        upsert=True,
        session=session,
    )


def scan_time(claimed: datetime | None, now: datetime) -> datetime:
    """When a scan happened: the device's time for offline scans (never in the future), else now."""
    if claimed is None:
        return now
    return min(claimed, now) if claimed <= now + CLOCK_SKEW else now


async def record_exit(uow: UnitOfWork, venue: dict[str, Any], token: str) -> dict[str, Any]:
    """A party leaves a venue that tracks exits; returns how many people are inside now."""
    claims = read_ticket(uow.settings.registration_qr_secret.get_secret_value(), token)
    if claims is None or claims["v"] != venue["_id"]:
        return {"result": "invalid_token", "inside": None}

    async def txn(session: Session) -> dict[str, Any]:
        left = await uow.db[BOOKINGS].update_one(
            {"_id": claims["b"], "inside": True},
            {"$set": {"inside": False, "left_at": uow.clock.now()}},
            session=session,
        )
        if left.modified_count == 1:
            await _count_inside(uow, session, venue["_id"], claims["d"], -claims["n"])
        presence = await uow.db[PRESENCE].find_one({"_id": f"{venue['_id']}:{claims['d']}"}, session=session)
        return {"result": "left" if left.modified_count else "not_inside", "inside": (presence or {}).get("inside", 0)}

    return await uow.commit(txn)


async def presence(uow: UnitOfWork, venue_id: str, day: date) -> dict[str, Any]:
    """People inside a venue and entered so far on a day."""
    doc = await uow.db[PRESENCE].find_one({"_id": f"{venue_id}:{day.isoformat()}"}) or {}
    return {
        "venue_id": venue_id,
        "date": day.isoformat(),
        "inside": doc.get("inside", 0),
        "entered": doc.get("entered", 0),
    }
