"""Periodic work of every replica (safe concurrently: each announcement is claimed by a conditional update)."""

from services.reporting.service import summaries, targets
from shared.unit_of_work import UnitOfWork


async def check_deadlines_and_pace(uow: UnitOfWork) -> None:
    now = uow.clock.now()
    await summaries.send_reminders(uow, now)
    await targets.announce_behind_pace(uow, now)
