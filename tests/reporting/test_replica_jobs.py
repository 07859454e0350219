"""Deadline reminders run by several replicas at once: each reminder is announced once."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from services.reporting.main import create_app
from services.reporting.service import summaries
from shared.outbox import OUTBOX
from shared.testing import running_service


async def test_three_replicas_sending_reminders_at_once_announce_each_once(settings_for: Any) -> None:
    settings = settings_for("reporting")
    async with (
        running_service(create_app(settings)) as (runtime, _),
        running_service(create_app(settings)) as (second, _),
        running_service(create_app(settings)) as (third, _),
    ):
        owing = len(runtime.programme.cities) + len(runtime.programme.units)
        three_days_before = datetime(2020, 9, 5, 4, tzinfo=UTC)
        sent = await asyncio.gather(*(summaries.send_reminders(r, three_days_before) for r in (runtime, second, third)))
        assert sum(sent) == owing
        entries = await runtime.db[OUTBOX].find({"type": "reporting.summary.reminder.v1"}).to_list()
        assert len(entries) == owing
        assert len({e["envelope"]["data"]["scope"] for e in entries}) == owing
