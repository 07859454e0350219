"""The periodic job that marks overdue visits missed (nobody checked in by the date plus a grace period)."""

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.volunteers.domain import assignments as rules
from services.volunteers.domain import events
from services.volunteers.service.dispatch import release_day
from services.volunteers.store import ASSIGNMENTS
from shared.mongo import Session
from shared.settings import Settings
from shared.unit_of_work import Job, UnitOfWork

BATCH = 200


async def mark_missed(uow: UnitOfWork) -> int:
    """Mark overdue visits missed, each in its own transaction guarded by its version; how many were marked."""
    today = uow.clock.now().astimezone(ZoneInfo(uow.programme.timezone)).date()
    last_day = (today - timedelta(days=uow.settings.volunteers_missed_grace_days + 1)).isoformat()
    query = {"status": {"$in": ["planned", "accepted"]}, "visit_date": {"$lte": last_day}}
    marked = 0
    for doc in await uow.db[ASSIGNMENTS].find(query, limit=BATCH).to_list():
        if rules.overdue(doc, today, uow.settings.volunteers_missed_grace_days) and await uow.commit(_marker(uow, doc)):
            marked += 1
    return marked


def _marker(uow: UnitOfWork, doc: dict[str, Any]) -> Any:
    async def txn(session: Session) -> bool:
        new = {**doc, "status": "missed", "version": doc["version"] + 1, "updated_at": uow.clock.now()}
        done = await uow.db[ASSIGNMENTS].replace_one(
            {"_id": doc["_id"], "version": doc["version"]}, new, session=session
        )
        if not done.modified_count:  # the phone synced meanwhile
            return False
        await release_day(uow, session, doc["commissioner_id"], doc["visit_date"])
        await uow.events.emit(session, events.visit_missed(new), subject=events.subject(new))
        return True

    return txn


async def _job(uow: UnitOfWork) -> None:
    await mark_missed(uow)


def jobs(settings: Settings) -> dict[str, tuple[float, Job]]:
    return {"mark-missed": (settings.volunteers_missed_check_s, _job)} if settings.volunteers_missed_check_s > 0 else {}
