"""Use cases of the summaries (cities, supporting units, the province): draft, edit, pictures, submit,
exceptions, reminders, the deadline board and the provincial compilation."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase

from services.reporting import store
from services.reporting.domain import deadlines
from services.reporting.domain.deadlines import Deadline
from services.reporting.domain.projection import PROVINCE, city_scope, unit_scope
from shared.contracts.reporting import SummaryReminder
from shared.http import require_match
from shared.mongo import Document, Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

# the numbers a summary is pre-filled with, in the order they are printed
VISIT_NUMBERS = ("planned", "completed", "households_reached", "consultations", "trainees", "books")
SUMMARY_NUMBERS = (
    *VISIT_NUMBERS,
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
# a supporting unit's: what the events attribute to its organisation (its commissioners' visits, the
# activities it organised, its exhibits)
UNIT_NUMBERS = (
    *VISIT_NUMBERS,
    "activities_scheduled",
    "activities_held",
    "participants",
    "exhibits_submitted",
    "exhibits_accepted",
    "exhibits_confirmed",
    "exhibits_placed",
    "area_used_dm2",
)


@dataclass(frozen=True)
class Author:
    """Who owes a summary: a city, a supporting unit, or the province."""

    kind: Literal["city", "unit", "province"]
    code: str
    name: str  # as printed in titles: "南宁市", "广西大学", "全区"

    @property
    def scope(self) -> str:
        if self.kind == "province":
            return PROVINCE
        return city_scope(self.code) if self.kind == "city" else unit_scope(self.code)

    def row(self) -> dict[str, str]:
        """How the author is named in a table row (`city_code` or `unit_code`, the name, the scope)."""
        code = {} if self.kind == "province" else {f"{self.kind}_code": self.code}
        return code | {"name": self.name, "scope": self.scope}


PROVINCIAL = Author("province", "", "全区")


def cities(uow: UnitOfWork) -> list[Author]:
    return [Author("city", c.code, f"{c.name}市") for c in uow.programme.cities]


def units(uow: UnitOfWork) -> list[Author]:
    return [Author("unit", u.code, u.name) for u in uow.programme.units]


def is_unit(scope: str) -> bool:
    return scope.startswith("unit:")


def deadline_for(uow: UnitOfWork, scope: str) -> Deadline:
    d = uow.programme.deadlines
    if scope == PROVINCE:
        due = d.provincial_summary
    else:
        due = (d.unit_summary or d.city_summary) if is_unit(scope) else d.city_summary
    return Deadline(due, uow.programme.timezone, d.lock_after_days, tuple(d.reminder_days))


async def load(db: AsyncDatabase[Document], scope: str, session: Session | None = None) -> Document | None:
    return await db[store.SUMMARIES].find_one({"_id": scope}, session=session)


async def view(uow: UnitOfWork, scope: str, now: datetime) -> dict[str, Any]:
    """The summary as its author sees it: numbers (frozen at submission, live before), narrative, status."""
    doc = await load(uow.db, scope) or {}
    deadline = deadline_for(uow, scope)
    numbers = doc.get("numbers") or await live_numbers(uow.db, scope)
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
        "updated_at": doc.get("updated_at"),  # the narrative's last save, and by whom (to tell two writers apart)
        "updated_by": doc.get("updated_by"),
    }


async def live_numbers(db: AsyncDatabase[Document], scope: str) -> dict[str, int]:
    metrics = (await store.counters(db, [scope]))[scope]
    return {name: metrics.get(name, 0) for name in (UNIT_NUMBERS if is_unit(scope) else SUMMARY_NUMBERS)}


async def edit(uow: UnitOfWork, scope: str, now: datetime, if_match: str | None, narrative: str, by: str) -> int:
    """Replace the narrative if `if_match` names the current version; the new version."""

    async def txn(session: Session) -> int:
        doc = await load(uow.db, scope, session)
        deadlines.check_editable(doc, deadline_for(uow, scope), now)
        version = int((doc or {}).get("version", 0))
        require_match(if_match, version)
        changed = await uow.db[store.SUMMARIES].update_one(
            {"_id": scope, "version": version} if doc else {"_id": scope},
            {"$set": {"narrative": narrative, "updated_at": now, "updated_by": by}, "$inc": {"version": 1}},
            upsert=doc is None,
            session=session,
        )
        if doc is not None and changed.modified_count == 0:
            raise RuleViolation("version_mismatch", "内容已被他人修改 / modified since you read it", "stale")
        return version + 1

    return await uow.commit(txn)


async def add_picture(uow: UnitOfWork, scope: str, now: datetime, picture_id: str) -> None:
    async def txn(session: Session) -> None:
        deadlines.check_editable(await load(uow.db, scope, session), deadline_for(uow, scope), now)
        await uow.db[store.SUMMARIES].update_one(
            {"_id": scope},
            {"$addToSet": {"pictures": picture_id}, "$inc": {"version": 1}},
            upsert=True,
            session=session,
        )

    await uow.commit(txn)


async def submit(uow: UnitOfWork, scope: str, now: datetime, by: str, key: str | None) -> dict[str, Any]:
    """Submit once: the numbers are frozen as they are now; on time or late is decided by `now`."""

    async def txn(session: Session) -> dict[str, Any]:
        deadline = deadline_for(uow, scope)
        doc = await load(uow.db, scope, session)
        deadlines.check_submittable(doc, deadline, now)
        numbers = await live_numbers(uow.db, scope)
        await uow.db[store.SUMMARIES].update_one(
            {"_id": scope},
            {"$set": {"submitted_at": now, "submitted_by": by, "numbers": numbers}, "$inc": {"version": 1}},
            upsert=True,
            session=session,
        )
        submitted = {**(doc or {}), "submitted_at": now}
        return {
            "scope": scope,
            "status": deadlines.status(submitted, deadline, now),
            "submitted_at": now.isoformat(),
        }

    return await uow.commit_once(key, {"scope": scope}, txn)


async def grant_exception(uow: UnitOfWork, scope: str, until: datetime, by: str) -> None:
    async def txn(session: Session) -> None:
        await uow.db[store.SUMMARIES].update_one(
            {"_id": scope},
            {"$set": {"exception_until": until, "exception_by": by}, "$inc": {"version": 1}},
            upsert=True,
            session=session,
        )

    await uow.commit(txn)


def all_scopes(uow: UnitOfWork) -> list[str]:
    return [a.scope for a in cities(uow) + units(uow)] + [PROVINCE]


async def compiled(uow: UnitOfWork, now: datetime, authors: list[Author]) -> list[dict[str, Any]]:
    """Each author's summary as the provincial summary prints it (a placeholder for one not submitted)."""
    rows = []
    for author in authors:
        row = await view(uow, author.scope, now)
        if row["submitted_at"] is None:
            row["narrative"] = f"（{author.name}总结未提交 / summary not submitted）"
        rows.append(author.row() | row)
    return rows


async def board(uow: UnitOfWork, now: datetime, authors: list[Author]) -> list[dict[str, Any]]:
    """One row per expected summary: due date, status, locked (one read of the small summaries collection)."""
    scopes = [a.scope for a in authors]
    docs = {d["_id"]: d async for d in uow.db[store.SUMMARIES].find({"_id": {"$in": scopes}})}
    rows = []
    for author in authors:
        doc, deadline = docs.get(author.scope), deadline_for(uow, author.scope)
        rows.append(
            author.row()
            | {
                "due": deadline.due,
                "status": deadlines.status(doc, deadline, now),
                "locked": deadlines.is_locked(doc, deadline, now),
                "submitted_at": (doc or {}).get("submitted_at"),
                "exception_until": (doc or {}).get("exception_until"),
            }
        )
    return rows


async def send_reminders(uow: UnitOfWork, now: datetime) -> int:
    """Record and announce each reminder that is due (once per summary and day count); how many were sent."""
    sent = 0
    for scope in all_scopes(uow):
        deadline = deadline_for(uow, scope)
        days = deadlines.reminder_due(await load(uow.db, scope), deadline, now)
        if days is not None and await _remind(uow, scope, deadline, days):
            sent += 1
    return sent


async def _remind(uow: UnitOfWork, scope: str, deadline: Deadline, days: int) -> bool:
    async def txn(session: Session) -> bool:
        summaries = uow.db[store.SUMMARIES]
        await summaries.update_one({"_id": scope}, {"$setOnInsert": {"version": 0}}, upsert=True, session=session)
        marked = await summaries.update_one(
            {"_id": scope, "reminders": {"$ne": days}}, {"$addToSet": {"reminders": days}}, session=session
        )
        if marked.modified_count == 0:  # another replica sent it
            return False
        data = SummaryReminder(summary_id=scope, scope=scope, deadline=deadline.due, days_left=days)
        await uow.events.emit(session, data, subject=f"summary/{scope}")
        return True

    return await uow.commit(txn)
