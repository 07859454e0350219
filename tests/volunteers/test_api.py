"""The volunteers API against the real database and broker: dispatch, single operations, idempotency."""

from typing import Any

import pytest

from services.volunteers.store import ASSIGNMENTS
from shared.outbox import OUTBOX
from shared.testing import outbox_events
from tests.volunteers.conftest import Auth, Service, commissioner, register, village

ASSIGNMENT = {
    "commissioner_id": "c-001",
    "city_code": "450100",
    "village_code": "v-001",
    "visit_date": "2020-08-24",
    "household_ids": ["v-001-h1", "v-001-h2", "v-001-h3"],
    "planned_activities": ["种植技术咨询"],
}
REPORT = {
    "households_reached": ["v-001-h1", "v-001-h2"],
    "consultations": 5,
    "people_trained": 12,
    "books_handed_out": 30,
}


@pytest.fixture
async def seeded(volunteers: Service, auth: Auth) -> Service:
    _, client = volunteers
    await register(
        client,
        auth,
        [commissioner("c-001", org_id="gxaas"), commissioner("c-002", max_visits_per_day=1, org_id="gxu")],
        [village("v-001")],
    )
    await register(client, auth, [commissioner("c-201", city="450200")], [village("v-201", city="450200")])
    return volunteers


async def test_coordinator_creates_and_commissioner_completes(seeded: Service, auth: Auth) -> None:
    runtime, client = seeded
    created = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("city", city="450100"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "planned" and body["city_code"] == "450100"

    done = await client.post(
        f"/api/v1/assignments/{body['id']}/report", json=REPORT, headers=auth("volunteer", sub="c-001")
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["report_version"] == 1
    events = await outbox_events(runtime.db)
    assert [e["type"] for e in events] == ["volunteers.assignment.created.v1", "volunteers.visit.completed.v1"]
    assert [e["data"]["org_id"] for e in events] == ["gxaas", "gxaas"]  # c-001's unit, for its summary


async def test_report_resent_by_phone_is_a_no_op_and_edits_need_the_version(seeded: Service, auth: Auth) -> None:
    runtime, client = seeded
    created = (await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("admin"))).json()
    url = f"/api/v1/assignments/{created['id']}/report"
    me = auth("volunteer", sub="c-001")
    first = await client.post(url, json=REPORT, headers=me)
    again = await client.post(url, json=REPORT, headers=me)
    assert first.json() == again.json()
    assert len(await outbox_events(runtime.db, "volunteers.visit.completed.v1")) == 1
    changed = await client.post(url, json={**REPORT, "consultations": 9}, headers=me)
    assert changed.status_code == 409 and changed.json()["code"] == "already_completed"

    assert (await client.put(url, json={**REPORT, "consultations": 9}, headers=me)).status_code == 428
    edited = await client.put(url, json={**REPORT, "consultations": 9}, headers={**me, "If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    assert edited.json()["report_version"] == 2 and edited.json()["report"]["consultations"] == 9
    stale = await client.put(url, json={**REPORT, "consultations": 1}, headers={**me, "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    versions = [e["data"]["report_version"] for e in await outbox_events(runtime.db, "volunteers.visit.completed.v1")]
    assert versions == [1, 2]


async def test_idempotency_key_replays_first_response(seeded: Service, auth: Auth) -> None:
    runtime, client = seeded
    headers = {**auth("city", city="450100"), "Idempotency-Key": "phone-retry-1"}
    first = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=headers)
    second = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert await runtime.db[ASSIGNMENTS].count_documents({}) == 1
    other = await client.post("/api/v1/assignments", json={**ASSIGNMENT, "village_code": "x"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"

    me = {**auth("volunteer", sub="c-001"), "Idempotency-Key": "accept-1"}
    url = f"/api/v1/assignments/{first.json()['id']}/accept"
    accepted = [await client.post(url, headers=me) for _ in range(2)]
    assert [r.status_code for r in accepted] == [200, 200] and accepted[0].json() == accepted[1].json()
    assert len(await outbox_events(runtime.db, "volunteers.assignment.accepted.v1")) == 1


async def test_dispatch_rules_are_409_with_a_code(seeded: Service, auth: Auth) -> None:
    runtime, client = seeded
    coordinator = auth("city", city="450100")

    async def code(body: dict[str, Any], headers: dict[str, str] = coordinator) -> tuple[int, str]:
        response = await client.post("/api/v1/assignments", json={**ASSIGNMENT, **body}, headers=headers)
        return response.status_code, response.json().get("code", "")

    assert await code({"visit_date": "2020-08-29"}) == (409, "commissioner_unavailable")
    assert await code({"commissioner_id": "nobody"}) == (409, "unknown_commissioner")
    assert await code({"commissioner_id": "c-201"}) == (409, "commissioner_other_city")
    assert await code({"household_ids": ["v-201-h1"]}) == (422, "unknown_household")
    assert await code({"commissioner_id": "c-002"}) == (201, "")
    assert await code({"commissioner_id": "c-002"}) == (409, "daily_max_reached")
    assert await code({"commissioner_id": "c-201"}, auth("admin")) == (201, "")  # admin may cross cities
    assert await runtime.db[ASSIGNMENTS].count_documents({}) == 2


async def test_cancel_frees_the_day_but_not_a_completed_visit(seeded: Service, auth: Auth) -> None:
    _runtime, client = seeded
    coordinator = auth("city", city="450100")
    body = {**ASSIGNMENT, "commissioner_id": "c-002"}
    first = (await client.post("/api/v1/assignments", json=body, headers=coordinator)).json()
    url = f"/api/v1/assignments/{first['id']}/cancel"
    assert (await client.post(url, json={"reason": "下雨"}, headers=coordinator)).status_code == 428
    cancelled = await client.post(url, json={"reason": "下雨"}, headers={**coordinator, "If-Match": '"1"'})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    second = await client.post("/api/v1/assignments", json=body, headers=coordinator)
    assert second.status_code == 201  # the day is free again
    done = await client.post(
        f"/api/v1/assignments/{second.json()['id']}/report", json=REPORT, headers=auth("volunteer", sub="c-002")
    )
    version = done.json()["version"]
    refused = await client.post(
        f"/api/v1/assignments/{second.json()['id']}/cancel",
        json={},
        headers={**coordinator, "If-Match": f'"{version}"'},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "visit_completed"


async def test_decline_goes_to_the_queue_and_reassignment_plans_it_again(seeded: Service, auth: Auth) -> None:
    runtime, client = seeded
    coordinator = auth("city", city="450100")
    created = (await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=coordinator)).json()
    declined = await client.post(
        f"/api/v1/assignments/{created['id']}/decline", json={"reason": "生病"}, headers=auth("volunteer", sub="c-001")
    )
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    queue = (await client.get("/api/v1/assignments?status=declined", headers=coordinator)).json()["items"]
    assert [a["id"] for a in queue] == [created["id"]] and queue[0]["decline_reason"] == "生病"
    moved = await client.patch(
        f"/api/v1/assignments/{created['id']}",
        json={"commissioner_id": "c-002"},
        headers={**coordinator, "If-Match": declined.headers["etag"]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "planned" and moved.json()["commissioner_id"] == "c-002"
    old = (await client.get("/api/v1/me/assignments", headers=auth("volunteer", sub="c-001"))).json()
    assert [t["id"] for t in old["tombstones"]] == [created["id"]] and old["assignments"] == []
    later = await client.patch(
        f"/api/v1/assignments/{created['id']}",
        json={"visit_date": "2020-08-25"},
        headers={**coordinator, "If-Match": moved.headers["etag"]},
    )
    assert later.status_code == 200 and later.json()["status"] == "planned"
    # each plan is announced with the day and the dispatching unit (派出单位) of whoever will go
    plans = [
        (e["envelope"]["data"]["commissioner_id"], e["envelope"]["data"]["visit_date"], e["envelope"]["data"]["org_id"])
        async for e in runtime.db[OUTBOX].find({"type": "volunteers.assignment.created.v1"}, sort=[("created_at", 1)])
    ]
    assert plans == [("c-001", "2020-08-24", "gxaas"), ("c-002", "2020-08-24", "gxu"), ("c-002", "2020-08-25", "gxu")]


async def test_bad_input_is_422_problem_and_writes_nothing(seeded: Service, auth: Auth) -> None:
    runtime, client = seeded
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


async def test_tokens_and_roles(seeded: Service, auth: Auth) -> None:
    _, client = seeded
    assert (await client.post("/api/v1/assignments", json=ASSIGNMENT)).status_code == 401
    garbage = {"Authorization": "Bearer not.a.token"}
    assert (await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=garbage)).json()["code"] == (
        "invalid_token"
    )
    as_volunteer = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("volunteer"))
    assert as_volunteer.status_code == 403 and as_volunteer.json()["code"] == "forbidden_role"
    other_city = await client.post("/api/v1/assignments", json=ASSIGNMENT, headers=auth("city", city="450200"))
    assert other_city.status_code == 403 and other_city.json()["code"] == "out_of_scope"


async def test_phone_is_masked_except_for_admin_and_the_commissioner(seeded: Service, auth: Auth) -> None:
    _, client = seeded
    url = "/api/v1/commissioners/c-001"
    assert (await client.get(url, headers=auth("admin"))).json()["phone"] == "13812345678"
    assert (await client.get(url, headers=auth("volunteer", sub="c-001"))).json()["phone"] == "13812345678"
    assert (await client.get(url, headers=auth("city", city="450100"))).json()["phone"] == "138****5678"
    assert (await client.get(url, headers=auth("volunteer", sub="c-002"))).status_code == 404
    households = (await client.get("/api/v1/villages/v-001", headers=auth("admin"))).json()["households"]
    assert {h["head_name"] for h in households} == {"韦**"}
