"""Periodic work of every replica (safe concurrently: each announcement is claimed by a conditional update)."""

from services.reporting.service import summaries, targets
from shared.app import Runtime


async def check_deadlines_and_pace(rt: Runtime) -> None:
    now = rt.clock.now()
    await summaries.send_reminders(rt, now)
    await targets.announce_behind_pace(rt, now)
