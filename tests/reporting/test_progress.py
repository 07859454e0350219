"""Reporting fed by the other services' events over the real broker."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from services.exhibits.main import create_app as create_exhibits
from services.registration.main import create_app as create_registration
from services.reporting.main import create_app as create_reporting
from services.volunteers.main import create_app as create_volunteers
from shared.contracts.volunteers import AssignmentCreated, VisitCompleted
from shared.envelope import new_event
from shared.testing import eventually, running_service

Auth = Callable[..., dict[str, str]]


async def city_row(client: Any, code: str) -> dict[str, Any]:
    progress = (await client.get("/api/v1/progress")).json()
    return next(c for c in progress["cities"] if c["city_code"] == code)


async def test_visits_venues_and_exhibits_reach_progress(settings_for: Any, auth: Auth) -> None:
    async with (
        running_service(create_reporting(settings_for("reporting"))) as (_, reporting),
        running_service(create_volunteers(settings_for("volunteers"))) as (_, volunteers),
        running_service(create_registration(settings_for("registration"))) as (_, registration),
        running_service(create_exhibits(settings_for("exhibits"))) as (_, exhibits),
    ):
        assignment = {
            "commissioner_id": "c-9",
            "city_code": "450300",
            "village_code": "v-1",
            "visit_date": "2020-08-25",
            "household_ids": ["h1"],
        }
        created = (await volunteers.post("/api/v1/assignments", json=assignment, headers=auth("admin"))).json()
        report = {"households_reached": ["h1"], "consultations": 2, "people_trained": 7, "books_handed_out": 15}
        done = await volunteers.post(
            f"/api/v1/assignments/{created['id']}/report", json=report, headers=auth("volunteer", sub="c-9")
        )
        assert done.status_code == 200
        venue = {"name": "广西科技馆", "org_type": "science_museum", "city_code": "450300"}
        assert (await registration.post("/api/v1/venues", json=venue, headers=auth("venue"))).status_code == 201
        exhibit = {"title": "新冠病毒快速检测试剂盒", "zone": 2, "city_code": "450300"}
        posted = await exhibits.post("/api/v1/submissions", json=exhibit, headers=auth("exhibitor", org="gxu"))
        assert posted.status_code == 201

        async def all_counted() -> dict[str, Any] | None:
            row = await city_row(reporting, "450300")
            wanted = row["completed"] == 1 and row["venues_registered"] == 1 and row["exhibits_submitted"] == 1
            return row if wanted else None

        row = await eventually(all_counted)
        assert row["planned"] == 1 and row["trainees"] == 7 and row["books"] == 15
        progress = (await reporting.get("/api/v1/progress")).json()
        assert progress["target"] == 1000 and progress["completed"] == 1


async def test_completion_before_creation_counts_once(settings_for: Any) -> None:
    async with running_service(create_reporting(settings_for("reporting"))) as (runtime, reporting):
        source = "sciweek/volunteers"
        created = new_event(
            "volunteers.assignment.created.v1",
            AssignmentCreated(
                assignment_id="a-late",
                commissioner_id="c",
                city_code="451400",
                village_code="v",
                visit_date=date(2020, 8, 26),
            ),
            source=source,
        )
        completed = new_event(
            "volunteers.visit.completed.v1",
            VisitCompleted(
                assignment_id="a-late",
                commissioner_id="c",
                city_code="451400",
                village_code="v",
                visit_date=date(2020, 8, 26),
                completed_at=datetime.now(UTC),
                households_reached=2,
                consultations=1,
                trainees=3,
                books=4,
            ),
            source=source,
        )
        await runtime.broker.publish(completed)
        await eventually(lambda: _completed(reporting, "451400"))
        await runtime.broker.publish(created)
        await eventually(lambda: _consumed(runtime, 2))
        row = await city_row(reporting, "451400")
        assert (row["planned"], row["completed"], row["households_reached"]) == (1, 1, 2)


async def _completed(client: Any, code: str) -> bool:
    return bool((await city_row(client, code))["completed"] == 1)


async def _consumed(runtime: Any, n: int) -> bool:
    return bool(await runtime.db["inbox"].count_documents({}) == n)
