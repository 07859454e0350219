"""The cities' activity calendar: scoped to the coordinator's city, outcomes recorded once with their event."""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from services.registration.service import activities
from services.registration.store import ACTIVITIES
from shared.outbox import OUTBOX
from tests.registration.conftest import CITY, changed_by_another_writer_after_read, today

Auth = Callable[..., dict[str, str]]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def lecture(**fields: Any) -> dict[str, Any]:
    body = {"city_code": CITY, "activity_type": "policy_lecture", "title": "创新政策宣讲", "date": today().isoformat()}
    return {**body, "place": "南宁市科技局", "expected_participants": 120, **fields}


async def test_coordinator_schedules_then_records_held_once(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    nanning = auth("city", city=CITY)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    unknown = await client.post("/api/v1/activities", json=lecture(org_id="nosuch"), headers=nanning)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_unit"
    created = await client.post("/api/v1/activities", json=lecture(org_id="gxast"), headers={**nanning, **key})
    replay = await client.post("/api/v1/activities", json=lecture(org_id="gxast"), headers={**nanning, **key})
    assert created.status_code == replay.status_code == 201 and created.json() == replay.json()
    assert created.json()["org_id"] == "gxast"
    url = f"/api/v1/activities/{created.json()['id']}"
    photo = await client.put(f"{url}/photos/p1", files={"file": ("a.png", PNG, "image/png")}, headers=nanning)
    assert photo.status_code == 201, photo.text
    held = await client.post(
        f"{url}/outcome",
        json={"status": "held", "participants": 150},
        headers={**nanning, "If-Match": created.headers["ETag"]},
    )
    assert held.status_code == 200 and held.json()["status"] == "held" and held.json()["participants"] == 150
    again = await client.post(
        f"{url}/outcome", json={"status": "cancelled"}, headers={**nanning, "If-Match": held.headers["ETag"]}
    )
    assert again.status_code == 409 and again.json()["code"] == "outcome_recorded"
    events = [
        e["envelope"]
        async for e in runtime.db[OUTBOX].find({"type": {"$regex": "^registration.activity"}}, sort=[("created_at", 1)])
    ]
    assert [e["type"] for e in events] == ["registration.activity.scheduled.v1", "registration.activity.held.v1"]
    assert [e["data"]["org_id"] for e in events] == ["gxast", "gxast"]  # the organising unit, for its summary
    assert (await client.get(url, headers=nanning)).json()["photos"] == [f"{created.json()['id']}:p1"]


async def test_activities_are_scoped_to_the_city(registration: Any, auth: Auth) -> None:
    _, client = registration
    nanning, guilin = auth("city", city=CITY), auth("city", city="450300")
    refused = await client.post("/api/v1/activities", json=lecture(city_code="450300"), headers=nanning)
    assert refused.status_code == 403 and refused.json()["code"] == "out_of_scope"
    created = (await client.post("/api/v1/activities", json=lecture(), headers=nanning)).json()
    assert (await client.get(f"/api/v1/activities/{created['id']}", headers=guilin)).status_code == 404
    assert created["id"] not in [
        a["id"] for a in (await client.get("/api/v1/activities", headers=guilin)).json()["items"]
    ]
    late = await client.post(
        "/api/v1/activities", json=lecture(date=(today() + timedelta(days=90)).isoformat()), headers=nanning
    )
    assert late.status_code == 422 and late.json()["code"] == "outside_programme"


async def test_cancelled_activity_and_held_without_participants(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    nanning = auth("city", city=CITY)
    created = await client.post("/api/v1/activities", json=lecture(activity_type="grassroots"), headers=nanning)
    url = f"/api/v1/activities/{created.json()['id']}/outcome"
    etag = created.headers["ETag"]
    missing = await client.post(url, json={"status": "held"}, headers={**nanning, "If-Match": etag})
    assert missing.status_code == 422 and missing.json()["code"] == "participants_required"
    cancelled = await client.post(
        url, json={"status": "cancelled", "reason": "台风"}, headers={**nanning, "If-Match": etag}
    )
    assert cancelled.status_code == 200 and cancelled.json()["reason"] == "台风"
    event = await runtime.db[OUTBOX].find_one({"type": "registration.activity.cancelled.v1"})
    assert event is not None and event["envelope"]["data"]["reason"] == "台风"


@pytest.mark.parametrize(
    ("if_match", "status", "code"), [("*", 409, "concurrent_change"), ('"1"', 412, "version_mismatch")]
)
async def test_an_outcome_recorded_meanwhile_is_not_overwritten_nor_announced_twice(
    registration: Any, auth: Auth, monkeypatch: pytest.MonkeyPatch, if_match: str, status: int, code: str
) -> None:
    runtime, client = registration
    nanning = auth("city", city=CITY)
    created = await client.post("/api/v1/activities", json=lecture(), headers=nanning)
    activity_id = created.json()["id"]
    # another coordinator records "cancelled" between this request's read and its write
    cancelled = {"status": "cancelled", "reason": "台风"}
    changed_by_another_writer_after_read(monkeypatch, activities, runtime, ACTIVITIES, activity_id, cancelled)
    held = await client.post(
        f"/api/v1/activities/{activity_id}/outcome",
        json={"status": "held", "participants": 80},
        headers={**nanning, "If-Match": if_match},
    )
    assert held.status_code == status and held.json()["code"] == code, held.text
    assert held.headers["content-type"] == "application/problem+json"
    stored = (await client.get(f"/api/v1/activities/{activity_id}", headers=nanning)).json()
    assert (stored["status"], stored["participants"], stored["version"]) == ("cancelled", None, 2)
    held_events = {"type": "registration.activity.held.v1", "envelope.data.activity_id": activity_id}
    assert await runtime.db[OUTBOX].count_documents(held_events) == 0
