"""Reporting fed by the other services' events over the real broker: exact under duplicates and shuffles,
and a replay of the stored event log reproduces the live projections exactly."""

import asyncio
import os
import random
import subprocess
from datetime import timedelta
from typing import Any

from services.reporting import store
from services.reporting.main import create_app
from services.reporting.service import replay
from services.reporting.store import QUOTAS
from shared.contracts import exhibits as ex
from shared.contracts import volunteers as vol
from shared.settings import REPO_ROOT
from shared.testing import make_settings, running_service
from tests.reporting import scenario
from tests.reporting.conftest import publish, settled


async def city_row(client: Any, code: str) -> dict[str, Any]:
    progress = (await client.get("/api/v1/progress")).json()
    return next(c for c in progress["cities"] if c["city_code"] == code)


async def projections(runtime: Any) -> dict[str, Any]:
    entities = {d["_id"]: d["state"] for name in store.ENTITY_COLLECTIONS async for d in runtime.db[name].find({})}
    counters = {d["_id"]: store.flat(d) async for d in runtime.db[store.COUNTERS].find({})}
    return {"entities": entities, "counters": {k: v for k, v in counters.items() if v}}


async def test_events_of_three_services_drive_progress_and_replay_reproduces_them(
    settings_for: Any, mongodb_url: str, vhost: Any
) -> None:
    events = scenario.all_events()
    shuffled = events + random.Random(3).sample(events, 15)  # a redelivered event carries the same id
    random.Random(4).shuffle(shuffled)
    other = make_settings(
        "reporting", mongodb_url=mongodb_url, amqp_url=vhost.url, namespace=settings_for("reporting").namespace + "b"
    )
    async with (
        running_service(create_app(settings_for("reporting"))) as (in_order, client),
        running_service(create_app(other)) as (mixed, _),
    ):
        await publish(in_order, events)
        await publish(mixed, shuffled)
        await settled(in_order, len(events), len(events))
        await settled(mixed, len(events), len(shuffled))

        live = await projections(in_order)
        for scope, expected in scenario.EXPECTED.items():
            assert live["counters"][scope] == expected, scope
        assert await projections(mixed) == live

        guilin = await city_row(client, scenario.GUILIN)
        assert (guilin["planned"], guilin["completed"], guilin["trainees"], guilin["books"]) == (1, 1, 6, 8)
        assert (guilin["venues_registered"], guilin["exhibits_submitted"]) == (2, 2)
        progress = (await client.get("/api/v1/progress")).json()
        assert (progress["target"], progress["planned"], progress["completed"]) == (1000, 3, 2)
        assert progress["exhibits_submitted"] == 3  # the provincial department's exhibit counts in the total

        rebuilt = await replay.rebuild(in_order.db, swap=True)
        assert rebuilt.events == len(events) and rebuilt.identical, rebuilt.differences
        assert await projections(in_order) == live
        assert await city_row(client, scenario.GUILIN) == guilin


async def test_completion_before_creation_counts_once(reporting: Any) -> None:
    runtime, client = reporting
    created, completed = scenario.created("a-late", "451400"), scenario.completed("a-late", "451400", (2, 1, 3, 4))
    await publish(runtime, [completed])
    await settled(runtime, 1, 1)
    assert (await city_row(client, "451400"))["completed"] == 1
    await publish(runtime, [created, created])
    await settled(runtime, 2, 3)
    row = await city_row(client, "451400")
    assert (row["planned"], row["completed"], row["households_reached"]) == (1, 1, 2)


async def test_the_rebuild_command_replays_the_log_with_a_progress_bar(settings_for: Any) -> None:
    settings = settings_for("reporting")
    async with running_service(create_app(settings)) as (runtime, _):
        events = scenario.all_events()
        await publish(runtime, events)
        await settled(runtime, len(events), len(events))
        await runtime.db[store.COUNTERS].update_one({"_id": "city:450300"}, {"$inc": {"bookings": 5}})  # drift
        env = {**os.environ, "MONGODB_URL": settings.mongodb_url, "SCIWEEK_MONGODB_DB": settings.mongodb_db}
        command = [str(REPO_ROOT / ".venv" / "bin" / "sciweek"), "rebuild", "reporting"]
        compared = await run(command, env)
        assert compared.returncode == 1 and "1 differences" in compared.stderr and "replay" in compared.stderr
        swapped = await run([*command, "--swap"], env)
        assert swapped.returncode == 0 and f"{len(events)} events" in swapped.stdout
        assert (await store.counters(runtime.db, ["city:450300"]))["city:450300"]["bookings"] == 2
        assert (await run(command, env)).returncode == 0


async def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)


async def test_public_progress_is_rate_limited(settings_for: Any) -> None:
    async with running_service(create_app(settings_for("reporting", public_rate_limit="3/minute"))) as (_, client):
        answers = [(await client.get("/api/v1/progress")).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]


async def test_flags_missed_visits_and_changed_quotas_reach_the_dashboard(reporting: Any, auth: Any) -> None:
    city = "451400"
    at = scenario.AT
    events = [
        scenario.created("f-1", city),
        scenario.created("m-1", city),
        scenario.created("m-2", city),
        scenario.event(
            "volunteers.visit.flagged.v1", vol.VisitFlagged(assignment_id="f-1", city_code=city, flag="geofence")
        ),
        scenario.event(
            "volunteers.visit.flagged.v1", vol.VisitFlagged(assignment_id="f-1", city_code=city, flag="geofence")
        ),
        scenario.event(
            "volunteers.visit.missed.v1", vol.VisitMissed(assignment_id="m-1", city_code=city, visit_date=scenario.DAY)
        ),
        scenario.event(
            "volunteers.visit.missed.v1", vol.VisitMissed(assignment_id="m-2", city_code=city, visit_date=scenario.DAY)
        ),
        scenario.event(  # m-2 was visited after all, late
            "volunteers.visit.checked_in.v1",
            vol.VisitCheckedIn(
                assignment_id="m-2", city_code=city, commissioner_id="c-1", village_code="v-1", checked_in_at=at
            ),
        ),
        scenario.event(  # a newer quota, then an older one delivered late
            "volunteers.quota.changed.v1", vol.QuotaChanged(city_code=city, quota=77, changed_at=at)
        ),
        scenario.event(
            "volunteers.quota.changed.v1",
            vol.QuotaChanged(city_code=city, quota=10, changed_at=at - timedelta(hours=1)),
        ),
    ]
    runtime, client = reporting
    await publish(runtime, events)
    await settled(runtime, len(events), len(events))
    dashboard = (await client.get("/api/v1/dashboard", headers=auth("admin"))).json()
    row = next(c for c in dashboard["cities"] if c["city_code"] == city)
    assert (row["planned"], row["visits_missed"], row["visits_flagged"], row["flags_geofence"]) == (2, 1, 1, 1)
    assert row["quota"] == 77 and (await city_row(client, city))["quota"] == 77
    target = next(t for t in dashboard["targets"] if t["id"] == f"visits:{city}")
    assert target["value"] == 77

    await runtime.db[QUOTAS].delete_many({})  # lost: the replay of the stored events brings it back
    rebuilt = await replay.rebuild(runtime.db, swap=True)
    assert rebuilt.events == len(events) - 2  # quota changes are kept apart from the counted events
    assert (await city_row(client, city))["quota"] == 77
    assert (await replay.rebuild(runtime.db)).identical


async def test_answers_and_reviews_are_counted_whatever_the_order(reporting: Any, auth: Any) -> None:
    city, at = "451300", scenario.AT
    who = {"commissioner_id": "c-1", "city_code": city}
    plans = [scenario.created("a-1", city), scenario.created("d-1", city)]  # stamped before the answers
    accepted = scenario.event(
        "volunteers.assignment.accepted.v1", vol.AssignmentAccepted(assignment_id="a-1", accepted_at=at, **who)
    )
    declined = scenario.event(
        "volunteers.assignment.declined.v1",
        vol.AssignmentDeclined(assignment_id="d-1", reason="生病", declined_at=at, **who),
    )
    first_plan, second_plan = scenario.created("d-2", city), None
    declined_then_replanned = scenario.event(
        "volunteers.assignment.declined.v1",
        vol.AssignmentDeclined(assignment_id="d-2", reason="冲突", declined_at=at, **who),
    )
    second_plan = scenario.created("d-2", city)  # announced after the decline: the new commissioner is asked
    review = ex.ReviewSubmitted(exhibit_id="e-1", reviewer_id="r-1", zone=2, score=4.5)
    reviews = [
        scenario.event("exhibits.review.submitted.v1", review),
        scenario.event("exhibits.review.submitted.v1", review.model_copy(update={"score": 3.0})),
        scenario.event("exhibits.review.submitted.v1", review.model_copy(update={"reviewer_id": "r-2"})),
    ]
    events = [*plans, accepted, declined]
    events += [first_plan, declined_then_replanned, second_plan, *reviews]
    shuffled = random.Random(7).sample(events, len(events))
    runtime, client = reporting
    await publish(runtime, shuffled)
    await settled(runtime, len(events), len(events))
    dashboard = (await client.get("/api/v1/dashboard", headers=auth("admin"))).json()
    row = next(c for c in dashboard["cities"] if c["city_code"] == city)
    assert (row["planned"], row["visits_accepted"], row["visits_declined"]) == (3, 1, 1)
    zone = next(z for z in dashboard["zones"] if z["id"] == 2)
    assert zone["reviews"] == 2
