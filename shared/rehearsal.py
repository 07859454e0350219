"""The rehearsal clock set at run time: kept in each service's database so every replica follows it."""

import asyncio
import logging
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import Clock, Rehearsal
from shared.mongo import Document, raise_if_cancelled

log = logging.getLogger(__name__)
CLOCK = "clock"  # collection: one document, the run-time rehearsal setting
KEY = "rehearsal"
FOLLOW_EVERY_S = 1.0  # how soon another replica's change reaches this one


async def load(db: AsyncDatabase[Document], clock: Clock) -> None:
    """Adopt the stored run-time setting, if any (else the configured clock)."""
    clock.follow(await db[CLOCK].find_one({"_id": KEY}))


async def store(db: AsyncDatabase[Document], clock: Clock, at: datetime, rate: float) -> Rehearsal:
    """Run at programme time `at` and `rate` from now on, here and (within a second) in every replica."""
    rehearsal = clock.set(at, rate)
    await db[CLOCK].replace_one({"_id": KEY}, rehearsal.document(), upsert=True)
    return rehearsal


async def reset(db: AsyncDatabase[Document], clock: Clock) -> None:
    """Back to the configured clock (the wall clock, or SCIWEEK_CLOCK)."""
    await db[CLOCK].delete_one({"_id": KEY})
    clock.follow(None)


async def follow(db: AsyncDatabase[Document], clock: Clock) -> None:
    """Keep `clock` in step with the stored setting (a background task of every replica)."""
    while True:
        try:
            await load(db, clock)
        except Exception as exc:  # the database may be away for a while: keep the last known setting
            log.warning("rehearsal clock: could not read the stored setting: %r", exc)
        raise_if_cancelled()  # stop() cancels this task; a cancel pymongo swallowed must still end the loop
        await asyncio.sleep(FOLLOW_EVERY_S)
