"""The walking skeleton's volunteers API against the real database and broker."""

from collections.abc import Callable
from typing import Any

import pytest

from services.volunteers.main import create_app
from services.volunteers.store import ASSIGNMENTS
from shared.outbox import OUTBOX
from shared.testing import running_service

ASSIGNMENT = {
    "commissioner_id": "c-001",
    "city_code": "450100",
    "village_code": "450123-001",
    "visit_date": "2020-08-24",
    "household_ids": ["h1", "h2", "h3"],
    "planned_activities": ["种植技术咨询"],
}
REPORT = {"households_reached": ["h1", "h2"], "consultations": 5, "people_trained": 12, "books_handed_out": 30}

Auth = Callable[..., dict[str, str]]


@pytest.fixture
async def volunteers(settings_for: Callable[..., Any]):  # type: ignore[no-untyped-def]
    async with running_service(create_app(settings_for("volunteers"))) as (runtime, client):
        yield runtime, client


async def test_coordinator_creates_and_commissioner_completes(volunteers: Any, auth: Auth) -> None:
    runtime, client = volunteers
    created = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("city", city="450100"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "planned" and body["city_code"] == "450100"

    done = await client.post(
        f"/api/v1/assignments/{body['id']}/report", json=REPORT, headers=auth("volunteer", sub="c-001")
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    types = [e["type"] async for e in runtime.db[OUTBOX].find({}, sort=[("created_at", 1)])]
    assert types == ["volunteers.assignment.created.v1", "volunteers.visit.completed.v1"]


async def test_report_resent_by_phone_is_a_no_op(volunteers: Any, auth: Auth) -> None:
    runtime, client = volunteers
    created = (await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("admin"))).json()
    url = f"/api/v1/assignments/{created['id']}/report"
    first = await client.post(url, json=REPORT, headers=auth("volunteer", sub="c-001"))
    again = await client.post(url, json=REPORT, headers=auth("volunteer", sub="c-001"))
    assert first.json() == again.json()
    assert await runtime.db[OUTBOX].count_documents({"type": "volunteers.visit.completed.v1"}) == 1
    changed = await client.post(url, json={**REPORT, "consultations": 9}, headers=auth("volunteer", sub="c-001"))
    assert changed.status_code == 409
    assert changed.json()["code"] == "already_completed"


async def test_idempotency_key_replays_first_response(volunteers: Any, auth: Auth) -> None:
    runtime, client = volunteers
    headers = {**auth("city", city="450100"), "Idempotency-Key": "phone-retry-1"}
    first = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=headers)
    second = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert await runtime.db[ASSIGNMENTS].count_documents({}) == 1
    other = await client.post("/api/v1/assignments", json={**ASSIGNMENT, "village_code": "x"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_bad_input_is_422_problem_and_writes_nothing(volunteers: Any, auth: Auth) -> None:
    runtime, client = volunteers
    bad = {**ASSIGNMENT, "visit_date": "not-a-date", "surprise": 1}
    response = await client.post("/api/v1/assignments", json=bad, headers=auth("admin"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert {tuple(e["loc"]) for e in problem["errors"]} >= {("body", "visit_date"), ("body", "surprise")}
    unknown_city = await client.post(
        "/api/v1/assignments", json={**ASSIGNMENT, "city_code": "999999"}, headers=auth("admin")
    )
    assert unknown_city.status_code == 422 and unknown_city.json()["code"] == "unknown_city"
    assert await runtime.db[ASSIGNMENTS].count_documents({}) == 0
    assert await runtime.db[OUTBOX].count_documents({}) == 0


async def test_tokens_roles_and_city_scope(volunteers: Any, auth: Auth) -> None:
    _, client = volunteers
    assert (await client.post("/api/v1/assignments", json=ASSIGNMENT)).status_code == 401
    garbage = {"Authorization": "Bearer not.a.token"}
    assert (await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=garbage)).json()["code"] == (
        "invalid_token"
    )
    as_volunteer = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("volunteer"))
    assert as_volunteer.status_code == 403 and as_volunteer.json()["code"] == "forbidden_role"
    other_city = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("city", city="450200"))
    assert other_city.status_code == 403 and other_city.json()["code"] == "out_of_scope"

    created = (await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("city", city="450100"))).json()
    url = f"/api/v1/assignments/{created['id']}"
    assert (await client.get(url, headers=auth("city", city="450200"))).status_code == 403
    assert (await client.get(url, headers=auth("city", city="450100"))).status_code == 200
    assert (await client.get(url, headers=auth("volunteer", sub="c-001"))).status_code == 200
    assert (await client.get(url, headers=auth("volunteer", sub="c-999"))).status_code == 403
    someone_else = await client.post(f"{url}/report", json=REPORT, headers=auth("volunteer", sub="c-999"))
    assert someone_else.status_code == 403
