"""Planning a city: quotas, the auto-planner's preview and commit, missed visits, resolving conflicts."""

import uuid
from datetime import UTC, datetime
from typing import Any

from services.volunteers.service.missed import mark_missed
from services.volunteers.store import ASSIGNMENTS
from shared.outbox import OUTBOX
from shared.testing import outbox_events
from tests.volunteers.conftest import Auth, Service, commissioner, register, village

FIELDS = ("commissioner_id", "village_code", "visit_date", "household_ids", "planned_activities")


async def test_planner_preview_then_commit_part_of_it(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    people = [commissioner(f"c{i}", base_lat=23.16 + i / 10) for i in range(3)]
    await register(client, auth, people, [village(f"v{i}") for i in range(4)])
    admin, coordinator = auth("admin"), auth("city", city="450100")
    assert (await client.put("/api/v1/quotas/450100", json={"quota": 5}, headers=coordinator)).status_code == 403
    quotas = await client.put("/api/v1/quotas/450100", json={"quota": 5}, headers=admin)
    assert quotas.status_code == 200 and quotas.json()["450100"] == 5
    announced = await runtime.db[OUTBOX].find_one({"type": "volunteers.quota.changed.v1"})
    assert announced is not None and announced["envelope"]["data"]["quota"] == 5  # reporting learns it too

    plan = (await client.post("/api/v1/plans/preview", json={"city_code": "450100"}, headers=coordinator)).json()
    assert (plan["quota"], plan["wanted"], len(plan["proposals"])) == (5, 5, 5)
    assert len({p["village_code"] for p in plan["proposals"]}) == 4  # every village before any twice
    chosen = [{**{k: p[k] for k in FIELDS}, "city_code": "450100"} for p in plan["proposals"][:3]]
    committed = await client.post("/api/v1/plans/commit", json={"assignments": chosen}, headers=coordinator)
    assert committed.status_code == 201 and len(committed.json()["created"]) == 3
    again = (await client.post("/api/v1/plans/preview", json={"city_code": "450100"}, headers=coordinator)).json()
    assert (again["planned"], again["wanted"]) == (3, 2)

    broken = [*chosen[:1], {**chosen[0], "visit_date": "2020-09-30"}]
    refused = await client.post("/api/v1/plans/commit", json={"assignments": broken}, headers=coordinator)
    assert refused.status_code == 409 and refused.json()["code"] == "commissioner_unavailable"
    assert refused.json()["index"] == 1
    assert await runtime.db[ASSIGNMENTS].count_documents({}) == 3  # all or none
    progress = (await client.get("/api/v1/dispatch/progress", headers=coordinator)).json()["cities"]
    assert [(c["city_code"], c["quota"], c["planned"], c["unplanned"]) for c in progress] == [("450100", 5, 3, 2)]
    assert progress[0]["name"] == "南宁"
    other = await client.post("/api/v1/plans/preview", json={"city_code": "450200"}, headers=coordinator)
    assert other.status_code == 403


async def test_overdue_visits_are_missed_and_a_late_report_still_counts(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    await register(client, auth, [commissioner("c1", max_visits_per_day=1)], [village("v1")])
    body = {"commissioner_id": "c1", "city_code": "450100", "village_code": "v1", "visit_date": "2020-08-24"}
    created = (await client.post("/api/v1/assignments", json=body, headers=auth("admin"))).json()
    assert await mark_missed(runtime) == 1 and await mark_missed(runtime) == 0
    assert (await runtime.db[ASSIGNMENTS].find_one({"_id": created["id"]}))["status"] == "missed"
    assert await runtime.db[OUTBOX].count_documents({"type": "volunteers.visit.missed.v1"}) == 1
    report = {"households_reached": [], "consultations": 1, "people_trained": 0, "books_handed_out": 0}
    ops = [
        {
            "op_id": str(uuid.uuid4()),
            "type": "report",
            "assignment_id": created["id"],
            "device_time": datetime(2020, 8, 24, 15, tzinfo=UTC).isoformat(),
            "payload": report,
        }
    ]
    result = (await client.post("/api/v1/sync", json={"operations": ops}, headers=auth("volunteer", sub="c1"))).json()
    assert result["results"][0]["status"] == "applied"
    assert result["results"][0]["assignment"]["status"] == "completed"


async def test_a_conflicting_report_can_be_adopted_by_the_coordinator(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    await register(client, auth, [commissioner("c1")], [village("v1")])
    body = {"commissioner_id": "c1", "city_code": "450100", "village_code": "v1", "visit_date": "2020-08-24"}
    created = (await client.post("/api/v1/assignments", json=body, headers=auth("admin"))).json()
    report: dict[str, Any] = {"households_reached": [], "consultations": 1, "people_trained": 0, "books_handed_out": 2}
    now = datetime.now(UTC).isoformat()

    def op(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "op_id": str(uuid.uuid4()),
            "type": kind,
            "assignment_id": created["id"],
            "device_time": now,
            "payload": payload,
        }

    phone = auth("volunteer", sub="c1")
    ops = [
        op("report", report),
        op("edit_report", {"base_version": 1, "report": {**report, "books_handed_out": 5}}),
        op("edit_report", {"base_version": 1, "report": {**report, "books_handed_out": 9}}),
    ]
    results = (await client.post("/api/v1/sync", json={"operations": ops}, headers=phone)).json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied", "conflict"]
    coordinator = auth("city", city="450100")
    flags = (await client.get("/api/v1/flags", headers=coordinator)).json()["items"]
    assert [f["flag"] for f in flags] == ["conflict"]
    url = f"/api/v1/flags/{flags[0]['id']}/resolve"
    assert (await client.post(url, json={}, headers=auth("city", city="450200"))).status_code == 404
    adopted = await client.post(url, json={"note": "以第二次为准", "apply_report": True}, headers=coordinator)
    assert adopted.status_code == 200, adopted.text
    doc = await runtime.db[ASSIGNMENTS].find_one({"_id": created["id"]})
    assert (doc["report_version"], doc["report"]["books_handed_out"]) == (3, 9)
    versions = [e["data"]["report_version"] for e in await outbox_events(runtime.db, "volunteers.visit.completed.v1")]
    assert versions == [1, 2, 3]
    assert (await client.get("/api/v1/flags", headers=coordinator)).json()["items"] == []
