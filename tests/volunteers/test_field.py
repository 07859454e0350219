"""The phone: offline batches applied exactly once and merged by the rules, delta sync, BOLA."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.volunteers.store import ASSIGNMENTS, FLAGS
from shared.http import encode_cursor
from shared.testing import outbox_events
from tests.volunteers.conftest import Auth, Service, commissioner, register, village

NOW = datetime.now(UTC)
REPORT = {
    "households_reached": ["v-1-h1"],
    "consultations": 2,
    "people_trained": 5,
    "books": [{"title": "柑橘栽培", "count": 4}],
}


@pytest.fixture
async def visit(volunteers: Service, auth: Auth) -> tuple[Service, str]:
    _, client = volunteers
    await register(client, auth, [commissioner("a"), commissioner("b")], [village("v-1")])
    await register(client, auth, [commissioner("z", city="450200")], [village("v-2", city="450200")])
    body = {
        "commissioner_id": "a",
        "city_code": "450100",
        "village_code": "v-1",
        "visit_date": "2020-08-24",
        "household_ids": ["v-1-h1", "v-1-h2"],
    }
    created = await client.post("/api/v1/assignments", json=body, headers=auth("admin"))
    assert created.status_code == 201
    return volunteers, created.json()["id"]


def op(kind: str, assignment_id: str, payload: dict[str, Any] | None = None, at: datetime = NOW) -> dict[str, Any]:
    return {
        "op_id": str(uuid.uuid4()),
        "type": kind,
        "assignment_id": assignment_id,
        "device_time": at.isoformat(),
        "payload": payload or {},
    }


async def sync(client: Any, auth: Auth, who: str, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = await client.post("/api/v1/sync", json={"operations": ops}, headers=auth("volunteer", sub=who))
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


async def test_a_batch_applies_in_order_and_a_replay_returns_the_first_results(visit: Any, auth: Auth) -> None:
    (runtime, client), aid = visit
    here = {"lat": 23.1601, "lon": 108.2702, "accuracy_m": 15}
    batch = [op("accept", aid), op("check_in", aid, here), op("check_out", aid, here), op("report", aid, REPORT)]
    first = await sync(client, auth, "a", batch)
    assert [r["status"] for r in first] == ["applied"] * 4
    assert first[-1]["assignment"]["status"] == "completed"
    again = await sync(client, auth, "a", batch)
    assert [r.get("replayed") for r in again] == [True] * 4
    assert [{**r, "replayed": None} for r in again] == [{**r, "replayed": None} for r in first]
    types = sorted(e["type"] for e in await outbox_events(runtime.db))
    assert types.count("volunteers.visit.completed.v1") == 1 and types.count("volunteers.assignment.accepted.v1") == 1
    doc = await runtime.db[ASSIGNMENTS].find_one({"_id": aid})
    assert doc["report"]["books_handed_out"] == 4 and len(doc["positions"]) == 2
    reused = await sync(client, auth, "a", [{**batch[0], "type": "decline", "payload": {"reason": "x"}}])
    assert reused[0]["code"] == "op_id_reused"


async def test_out_of_order_operations_merge_by_the_rules(visit: Any, auth: Auth) -> None:
    (runtime, client), aid = visit
    edit_1 = op("edit_report", aid, {"base_version": 1, "report": {**REPORT, "consultations": 3}})
    edit_2 = op("edit_report", aid, {"base_version": 2, "report": {**REPORT, "consultations": 4}})
    late = await sync(client, auth, "a", [edit_2, edit_1])
    assert [r["status"] for r in late] == ["deferred", "deferred"]
    results = await sync(
        client,
        auth,
        "a",
        [op("report", aid, REPORT), op("check_in", aid, {"lat": 23.16, "lon": 108.27, "accuracy_m": 5})],
    )
    assert [r["status"] for r in results] == ["applied", "applied"]
    doc = await runtime.db[ASSIGNMENTS].find_one({"_id": aid})
    assert (doc["status"], doc["report_version"], doc["report"]["consultations"]) == ("completed", 3, 4)
    versions = [e["data"]["report_version"] for e in await outbox_events(runtime.db, "volunteers.visit.completed.v1")]
    assert versions == [1, 2, 3]

    stale = await sync(
        client, auth, "a", [op("edit_report", aid, {"base_version": 1, "report": {**REPORT, "consultations": 99}})]
    )
    assert stale[0]["status"] == "conflict" and stale[0]["code"] == "stale_report_version"
    flag = await runtime.db[FLAGS].find_one({"assignment_id": aid, "flag": "conflict"})
    assert flag is not None and not flag["resolved"]
    doc = await runtime.db[ASSIGNMENTS].find_one({"_id": aid})
    assert doc["report"]["consultations"] == 4 and doc["conflicts"][0]["report"]["consultations"] == 99
    declined = await sync(client, auth, "a", [op("decline", aid, {"reason": "迟到的拒绝"})])
    assert declined[0]["status"] == "rejected" and declined[0]["code"] == "already_started"


async def test_far_or_imprecise_or_late_positions_are_accepted_and_flagged(visit: Any, auth: Auth) -> None:
    (runtime, client), aid = visit
    far = {"lat": 23.30, "lon": 108.27, "accuracy_m": 20}  # ~15 km north
    vague = {"lat": 23.16, "lon": 108.27, "accuracy_m": 2000}
    results = await sync(
        client, auth, "a", [op("check_in", aid, far, at=NOW - timedelta(days=3)), op("check_out", aid, vague)]
    )
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert results[0]["assignment"]["status"] == "checked_in"
    flags = sorted([f["flag"] async for f in runtime.db[FLAGS].find({"assignment_id": aid})])
    assert flags == ["geofence", "late_sync", "poor_accuracy"]
    listed = (await client.get("/api/v1/flags?city_code=450100", headers=auth("city", city="450100"))).json()
    assert sorted(f["flag"] for f in listed["items"]) == flags
    resolved = await client.post(
        f"/api/v1/flags/{listed['items'][0]['id']}/resolve",
        json={"note": "山区信号差"},
        headers=auth("city", city="450100"),
    )
    assert resolved.status_code == 200 and resolved.json()["resolved"] is True
    assert (await client.get("/api/v1/flags?city_code=450100", headers=auth("city", city="450200"))).status_code == 403


async def test_delta_sync_returns_changes_tombstones_and_410_for_old_cursors(visit: Any, auth: Auth) -> None:
    (_runtime, client), aid = visit
    me = auth("volunteer", sub="a")
    full = (await client.get("/api/v1/me/assignments", headers=me)).json()
    assert [a["id"] for a in full["assignments"]] == [aid]
    offline = full["assignments"][0]
    assert offline["village"]["lat"] == 23.16 and [h["id"] for h in offline["households"]] == ["v-1-h1", "v-1-h2"]
    assert offline["households"][0]["head_name"] == "韦**"
    cancel = await client.post(
        f"/api/v1/assignments/{aid}/cancel", json={"reason": "台风"}, headers={**auth("admin"), "If-Match": '"1"'}
    )
    assert cancel.status_code == 200
    delta = (await client.get(f"/api/v1/me/assignments?cursor={full['cursor']}", headers=me)).json()
    assert delta["assignments"] == [] and delta["tombstones"] == [{"id": aid, "status": "cancelled", "version": 2}]
    old = encode_cursor({"since": (NOW - timedelta(days=90)).isoformat()})
    gone = await client.get(f"/api/v1/me/assignments?cursor={old}", headers=me)
    assert gone.status_code == 410 and gone.json()["code"] == "cursor_expired"
    bad = await client.get("/api/v1/me/assignments?cursor=%%%", headers=me)
    assert bad.status_code == 400


async def test_bola_nobody_reads_or_changes_anothers_assignments(visit: Any, auth: Auth) -> None:
    (runtime, client), aid = visit
    url = f"/api/v1/assignments/{aid}"
    assert (await client.get(url, headers=auth("volunteer", sub="a"))).status_code == 200
    b = auth("volunteer", sub="b")
    assert (await client.get(url, headers=b)).json()["code"] == "assignment_not_found"
    for path, body in [
        ("accept", {}),
        ("decline", {"reason": "x"}),
        ("report", REPORT),
        ("check-in", {"lat": 23.16, "lon": 108.27, "accuracy_m": 5}),
    ]:
        response = await client.post(f"{url}/{path}", json=body, headers=b)
        assert response.status_code == 404, (path, response.text)
    results = await sync(client, auth, "b", [op("accept", aid), op("report", aid, REPORT)])
    assert {r["code"] for r in results} == {"assignment_not_found"}
    assert (await client.get("/api/v1/me/assignments", headers=b)).json()["assignments"] == []
    photo = await client.put(
        f"{url}/photos/{uuid.uuid4()}", files={"file": ("p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)}, headers=b
    )
    assert photo.status_code == 404

    nanning, liuzhou = auth("city", city="450100"), auth("city", city="450200")
    assert (await client.get(url, headers=nanning)).status_code == 200
    assert (await client.get(url, headers=liuzhou)).status_code == 404
    edit = await client.patch(url, json={"visit_date": "2020-08-25"}, headers={**liuzhou, "If-Match": '"1"'})
    cancel = await client.post(f"{url}/cancel", json={}, headers={**liuzhou, "If-Match": '"1"'})
    assert (edit.status_code, cancel.status_code) == (404, 404)
    listed = (await client.get("/api/v1/assignments", headers=liuzhou)).json()["items"]
    assert listed == []
    assert (await client.get("/api/v1/assignments?city_code=450100", headers=liuzhou)).json()["items"] == []
    assert (await client.get("/api/v1/villages/v-1", headers=liuzhou)).status_code == 404
    doc = await runtime.db[ASSIGNMENTS].find_one({"_id": aid})
    assert (doc["status"], doc["version"]) == ("planned", 1)


async def test_photos_are_uploaded_apart_and_referenced_by_the_report(visit: Any, auth: Auth) -> None:
    (_runtime, client), aid = visit
    me = auth("volunteer", sub="a")
    photo_id = str(uuid.uuid4())
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 256
    url = f"/api/v1/assignments/{aid}/photos/{photo_id}"
    first = await client.put(url, files={"file": ("p.png", png)}, headers=me)
    again = await client.put(url, files={"file": ("p.png", png)}, headers=me)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    not_image = await client.put(
        f"/api/v1/assignments/{aid}/photos/{uuid.uuid4()}", files={"file": ("x.png", b"hello")}, headers=me
    )
    assert not_image.status_code == 415
    missing = await client.post(f"/api/v1/assignments/{aid}/report", json={**REPORT, "photo_ids": ["nope"]}, headers=me)
    assert missing.status_code == 422 and missing.json()["code"] == "unknown_photo"
    done = await client.post(f"/api/v1/assignments/{aid}/report", json={**REPORT, "photo_ids": [photo_id]}, headers=me)
    assert done.status_code == 200 and done.json()["report"]["photo_ids"] == [photo_id]
    fetched = await client.get(url, headers=auth("city", city="450100"))
    assert fetched.status_code == 200 and fetched.content == png


async def test_a_phone_days_late_gets_one_late_sync_flag_per_batch(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    await register(client, auth, [commissioner("late", max_visits_per_day=10)], [village(f"lv-{i}") for i in range(5)])
    ids = []
    for i in range(5):
        body = {
            "commissioner_id": "late",
            "city_code": "450100",
            "village_code": f"lv-{i}",
            "visit_date": "2020-08-24",
            "household_ids": [f"lv-{i}-h1"],
        }
        created = await client.post("/api/v1/assignments", json=body, headers=auth("admin"))
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    here = {"lat": 23.1601, "lon": 108.2702, "accuracy_m": 15}
    days_ago = NOW - timedelta(days=4)
    batch = [o for aid in ids for o in (op("accept", aid, at=days_ago), op("check_in", aid, here, at=days_ago))]
    results = await sync(client, auth, "late", batch)
    assert [r["status"] for r in results] == ["applied"] * 10
    late = [f async for f in runtime.db[FLAGS].find({"commissioner_id": "late", "flag": "late_sync"})]
    assert len(late) == 1 and "10" in late[0]["detail"] and "96" in late[0]["detail"]
    coordinator = auth("city", city="450100")
    listed = (await client.get("/api/v1/flags?kind=late_sync", headers=coordinator)).json()
    assert {f["flag"] for f in listed["items"]} == {"late_sync"}
    assert listed["counts"]["late_sync"] >= 1 and all(n > 0 for n in listed["counts"].values())
    everything = (await client.get("/api/v1/flags", headers=coordinator)).json()
    assert len(everything["items"]) == sum(everything["counts"].values())


async def test_a_rejected_operation_says_to_resend_under_a_new_op_id(visit: Any, auth: Auth) -> None:
    (_, client), aid = visit
    bad = op("report", aid, {**REPORT, "consultations": -1})
    [rejected] = await sync(client, auth, "a", [bad])
    assert rejected["status"] == "rejected" and rejected["retry_with_new_op_id"] is True
    [again] = await sync(client, auth, "a", [{**bad, "payload": REPORT}])  # corrected, same op_id
    assert again["code"] == "op_id_reused" and "new op_id" in again["message"]
    [fixed] = await sync(client, auth, "a", [{**bad, "op_id": str(uuid.uuid4()), "payload": REPORT}])
    assert fixed["status"] == "applied"


async def test_each_result_says_what_happened_and_a_report_may_name_any_household_of_the_village(
    visit: Any, auth: Auth
) -> None:
    (_, client), aid = visit
    phone = auth("volunteer", sub="a")
    [mine] = (await client.get("/api/v1/me/assignments", headers=phone)).json()["assignments"]
    assert [h["id"] for h in mine["households"]] == ["v-1-h1", "v-1-h2"]
    assert [h["id"] for h in mine["village"]["households"]] == ["v-1-h1", "v-1-h2", "v-1-h3"]
    [foreign] = await sync(client, auth, "a", [op("report", aid, {**REPORT, "households_reached": ["v-2-h1"]})])
    assert foreign["status"] == "rejected" and foreign["code"] == "unknown_household"
    [done] = await sync(client, auth, "a", [op("report", aid, {**REPORT, "households_reached": ["v-1-h3"]})])
    assert done["status"] == "applied" and done["assignment"]["status"] == "completed"
    [late] = await sync(client, auth, "a", [op("report", aid, {**REPORT, "consultations": 9})])
    assert late["status"] == "conflict" and late["kept_report"]["households_reached"] == ["v-1-h3"]

    body = {"commissioner_id": "a", "city_code": "450100", "village_code": "v-1", "visit_date": "2020-08-25"}
    other = (await client.post("/api/v1/assignments", json=body, headers=auth("admin"))).json()
    moved = await client.patch(
        f"/api/v1/assignments/{other['id']}",
        json={"commissioner_id": "b"},
        headers={**auth("admin"), "If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    [gone] = await sync(client, auth, "a", [op("accept", other["id"])])
    assert gone["status"] == "rejected" and gone["code"] == "reassigned" and "改派" in gone["message"]
