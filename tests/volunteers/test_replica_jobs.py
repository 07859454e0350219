"""The periodic job that marks overdue visits missed, run by several replicas at once: each visit is marked once."""

import asyncio
from typing import Any

from services.volunteers.main import create_app
from services.volunteers.service.missed import mark_missed
from services.volunteers.store import ASSIGNMENTS
from shared.outbox import OUTBOX
from shared.testing import running_service
from tests.volunteers.conftest import Auth, commissioner, register, village

VISITS = 12


async def test_three_replicas_marking_missed_visits_at_once_mark_each_once(settings_for: Any, auth: Auth) -> None:
    settings = settings_for("volunteers", volunteers_missed_check_s=0)
    async with (
        running_service(create_app(settings)) as (runtime, client),
        running_service(create_app(settings)) as (second, _),
        running_service(create_app(settings)) as (third, _),
    ):
        await register(client, auth, [commissioner("a", max_visits_per_day=VISITS)], [village("v-1")])
        for _ in range(VISITS):  # 2020-08-24 is long past: every one is overdue
            body = {"commissioner_id": "a", "city_code": "450100", "village_code": "v-1", "visit_date": "2020-08-24"}
            created = await client.post("/api/v1/assignments", json=body, headers=auth("admin"))
            assert created.status_code == 201, created.text
        marked = await asyncio.gather(*(mark_missed(replica) for replica in (runtime, second, third)))
        assert sum(marked) == VISITS
        assert await runtime.db[ASSIGNMENTS].count_documents({"status": "missed"}) == VISITS
        events = await runtime.db[OUTBOX].find({"type": "volunteers.visit.missed.v1"}).to_list()
        assert len(events) == VISITS and len({e["envelope"]["subject"] for e in events}) == VISITS
