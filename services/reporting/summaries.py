"""Use cases of the city and provincial summaries: draft, edit, pictures, submit, exceptions, reminders."""

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.reporting import store
from services.reporting.domain import deadlines
from services.reporting.domain.deadlines import Deadline
from services.reporting.domain.projection import PROVINCE, city_scope
from shared.app import Runtime
from shared.contracts.reporting import SummaryReminder
from shared.envelope import new_event
from shared.http import require_match
from shared.mongo import Document, Session
from shared.outbox import add_to_outbox
from shared.problems import Problem

# the numbers a summary is pre-filled with, in the order they are printed
SUMMARY_NUMBERS = (
    "planned",
    "completed",
    "households_reached",
    "consultations",
    "trainees",
    "books",
    "venues_registered",
    "venues_approved",
    "opendays",
    "sessions",
    "bookings",
    "visitors",
    "visitors_free",
    "visitors_half_price",
    "activities_scheduled",
    "activities_held",
    "activities.policy_lecture.held",
    "participants",
    "exhibits_submitted",
    "exhibits_accepted",
    "exhibits_placed",
)


def scope_of(city_code: str | None) -> str:
    return city_scope(city_code) if city_code else PROVINCE


def deadline_for(rt: Runtime, scope: str) -> Deadline:
    d = rt.programme.deadlines
    due = d.provincial_summary if scope == PROVINCE else d.city_summary
    return Deadline(due, rt.programme.timezone, d.lock_after_days, tuple(d.reminder_days))


async def load(db: AsyncDatabase[Document], scope: str, session: Session | None = None) -> Document | None:
    return await db[store.SUMMARIES].find_one({"_id": scope}, session=session)


async def view(rt: Runtime, scope: str, now: datetime) -> dict[str, Any]:
    """The summary as its author sees it: numbers (frozen at submission, live before), narrative, status."""
    doc = await load(rt.db, scope) or {}
    deadline = deadline_for(rt, scope)
    numbers = doc.get("numbers") or await live_numbers(rt.db, scope)
    return {
        "scope": scope,
        "narrative": doc.get("narrative", ""),
        "pictures": doc.get("pictures", []),
        "numbers": numbers,
        "version": int(doc.get("version", 0)),
        "due": deadline.due,
        "locks_at": deadline.locks_at,
        "status": deadlines.status(doc, deadline, now),
        "locked": deadlines.is_locked(doc, deadline, now),
        "submitted_at": doc.get("submitted_at"),
        "exception_until": doc.get("exception_until"),
    }


async def live_numbers(db: AsyncDatabase[Document], scope: str) -> dict[str, int]:
    metrics = (await store.counters(db, [scope]))[scope]
    return {name: metrics.get(name, 0) for name in SUMMARY_NUMBERS}


async def edit(rt: Runtime, scope: str, now: datetime, if_match: str | None, narrative: str) -> None:
    async def txn(session: Session) -> None:
        doc = await load(rt.db, scope, session)
        deadlines.check_editable(doc, deadline_for(rt, scope), now)
        version = int((doc or {}).get("version", 0))
        require_match(if_match, version)
        changed = await rt.db[store.SUMMARIES].update_one(
            {"_id": scope, "version": version} if doc else {"_id": scope},
            {"$set": {"narrative": narrative, "updated_at": now}, "$inc": {"version": 1}},
            upsert=doc is None,
            session=session,
        )
        if doc is not None and changed.modified_count == 0:
            raise Problem(412, "version_mismatch", detail="内容已被他人修改 / modified since you read it")

    await rt.commit(txn)


async def add_picture(rt: Runtime, scope: str, now: datetime, picture_id: str) -> None:
    async def txn(session: Session) -> None:
        deadlines.check_editable(await load(rt.db, scope, session), deadline_for(rt, scope), now)
        await rt.db[store.SUMMARIES].update_one(
            {"_id": scope},
            {"$addToSet": {"pictures": picture_id}, "$inc": {"version": 1}},
            upsert=True,
            session=session,
        )

    await rt.commit(txn)


async def submit(rt: Runtime, scope: str, now: datetime, by: str, key: str | None) -> tuple[int, dict[str, Any]]:
    """Submit once: the numbers are frozen as they are now; on time or late is decided by `now`."""

    async def txn(session: Session) -> tuple[int, dict[str, Any]]:
        deadline = deadline_for(rt, scope)
        doc = await load(rt.db, scope, session)
        deadlines.check_submittable(doc, deadline, now)
        numbers = await live_numbers(rt.db, scope)
        await rt.db[store.SUMMARIES].update_one(
            {"_id": scope},
            {"$set": {"submitted_at": now, "submitted_by": by, "numbers": numbers}, "$inc": {"version": 1}},
            upsert=True,
            session=session,
        )
        submitted = {**(doc or {}), "submitted_at": now}
        return 200, {
            "scope": scope,
            "status": deadlines.status(submitted, deadline, now),
            "submitted_at": now.isoformat(),
        }

    return await rt.commit_once(key, {"scope": scope}, txn)


async def grant_exception(rt: Runtime, scope: str, until: datetime, by: str) -> None:
    async def txn(session: Session) -> None:
        await rt.db[store.SUMMARIES].update_one(
            {"_id": scope},
            {"$set": {"exception_until": until, "exception_by": by}, "$inc": {"version": 1}},
            upsert=True,
            session=session,
        )

    await rt.commit(txn)


def all_scopes(rt: Runtime) -> list[str]:
    return [city_scope(c.code) for c in rt.programme.cities] + [PROVINCE]


async def board(rt: Runtime, now: datetime, scopes: list[str]) -> list[dict[str, Any]]:
    """One row per expected summary: due date, status, locked (one read of the small summaries collection)."""
    docs = {d["_id"]: d async for d in rt.db[store.SUMMARIES].find({"_id": {"$in": scopes}})}
    rows = []
    for scope in scopes:
        doc, deadline = docs.get(scope), deadline_for(rt, scope)
        rows.append(
            {
                "scope": scope,
                "due": deadline.due,
                "status": deadlines.status(doc, deadline, now),
                "locked": deadlines.is_locked(doc, deadline, now),
                "submitted_at": (doc or {}).get("submitted_at"),
            }
        )
    return rows


async def send_reminders(rt: Runtime, now: datetime) -> int:
    """Record and announce each reminder that is due (once per summary and day count); how many were sent."""
    sent = 0
    for scope in all_scopes(rt):
        deadline = deadline_for(rt, scope)
        days = deadlines.reminder_due(await load(rt.db, scope), deadline, now)
        if days is not None and await _remind(rt, scope, deadline, days):
            sent += 1
    return sent


async def _remind(rt: Runtime, scope: str, deadline: Deadline, days: int) -> bool:
    async def txn(session: Session) -> bool:
        summaries = rt.db[store.SUMMARIES]
        await summaries.update_one({"_id": scope}, {"$setOnInsert": {"version": 0}}, upsert=True, session=session)
        marked = await summaries.update_one(
            {"_id": scope, "reminders": {"$ne": days}}, {"$addToSet": {"reminders": days}}, session=session
        )
        if marked.modified_count == 0:  # another replica sent it
            return False
        data = SummaryReminder(summary_id=scope, scope=scope, deadline=deadline.due, days_left=days)
        await add_to_outbox(rt.db, session, new_event("reporting.summary.reminder.v1", data, source=rt.settings.source))
        return True

    return await rt.commit(txn)
