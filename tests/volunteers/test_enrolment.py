"""Phones enrolled by QR code: the credential works, is scoped to its city's coordinators, and dies when revoked."""

import io
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from PIL import Image

from services.volunteers.store import ASSIGNMENTS, SYNC_OPS
from tests.volunteers.conftest import Auth, Service, commissioner, register, village

CITY = "450100"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_of(link: str) -> str:
    assert "/app/#enrol=" in link
    return unquote(link.split("#enrol=", 1)[1])


async def enrol(client: Any, auth: Auth, cid: str, **headers: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/enrolments",
        json={"commissioner_id": cid, "label": "红米"},
        headers={**auth("city", city=CITY), **headers},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_an_enrolment_link_carries_a_credential_for_the_commissioner(volunteers: Service, auth: Auth) -> None:
    _, client = volunteers
    await register(client, auth, [commissioner("e1"), commissioner("e9", city="450200")], [village("ev-1")])
    created = await enrol(client, auth, "e1", **{"Idempotency-Key": "k-1"})
    assert created["status"] == "active" and created["link"].startswith("http://testserver/app/#enrol=")
    assert token_of(created["link"]) == created["token"]
    again = await enrol(client, auth, "e1", **{"Idempotency-Key": "k-1"})  # a retried click: the same enrolment
    assert again["id"] == created["id"] and again["token"] == created["token"]
    me = await client.get("/api/v1/me", headers=bearer(created["token"]))
    assert me.status_code == 200, me.text
    assert me.json()["commissioner"]["id"] == "e1" and me.json()["enrolment"]["id"] == created["id"]
    assert me.json()["rules"]["geofence_m"] == 3000

    coordinator = auth("city", city=CITY)
    png = await client.get(f"/api/v1/{created['qr']}", headers=coordinator)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG") and png.headers["cache-control"] == "no-store"
    assert Image.open(io.BytesIO(png.content)).size[0] > 100
    shown = await client.get(f"/api/v1/enrolments/{created['id']}", headers=coordinator)
    assert shown.json()["token"] == created["token"]  # printed again later: the same credential
    listed = (await client.get(f"/api/v1/enrolments?city_code={CITY}", headers=coordinator)).json()
    assert [e["id"] for e in listed["items"]] == [created["id"]] and "token" not in listed["items"][0]
    other = auth("city", city="450200")
    assert (await client.get(f"/api/v1/enrolments/{created['id']}", headers=other)).status_code == 404
    assert (await client.get(f"/api/v1/enrolments?city_code={CITY}", headers=other)).status_code == 403
    foreign = await client.post("/api/v1/enrolments", json={"commissioner_id": "e9"}, headers=coordinator)
    assert foreign.status_code == 404
    assert (await client.get("/api/v1/me", headers=coordinator)).status_code == 403


async def test_a_city_sheet_enrols_everyone_not_yet_enrolled_and_prints_them(volunteers: Service, auth: Auth) -> None:
    _, client = volunteers
    await register(client, auth, [commissioner("s1"), commissioner("s2"), commissioner("s3")], [])
    first = await enrol(client, auth, "s1")
    coordinator = auth("city", city=CITY)
    batch = await client.post(f"/api/v1/enrolments/city/{CITY}", headers=coordinator)
    assert batch.status_code == 201
    assert sorted(e["commissioner_id"] for e in batch.json()["created"]) == ["s2", "s3"]
    sheet = await client.get(f"/api/v1/enrolments/sheet?city_code={CITY}", headers=coordinator)
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/html")
    assert sheet.text.count("<svg") == 3 and "南宁" in sheet.text and "特派员s2" in sheet.text
    assert first["commissioner_id"] == "s1"


async def test_a_revoked_device_is_refused_and_writes_nothing(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    await register(client, auth, [commissioner("r1")], [village("rv-1")])
    body = {"commissioner_id": "r1", "city_code": CITY, "village_code": "rv-1", "visit_date": "2020-08-24"}
    created = await client.post("/api/v1/assignments", json=body, headers=auth("admin"))
    aid = created.json()["id"]
    device = bearer((await enrol(client, auth, "r1"))["token"])
    enrolment_id = (await client.get("/api/v1/me", headers=device)).json()["enrolment"]["id"]
    assert (await client.get("/api/v1/me/assignments", headers=device)).status_code == 200

    coordinator = auth("city", city=CITY)
    revoked = await client.post(f"/api/v1/enrolments/{enrolment_id}/revoke", headers=coordinator)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    twice = await client.post(f"/api/v1/enrolments/{enrolment_id}/revoke", headers=coordinator)
    assert twice.json()["revoked_at"] == revoked.json()["revoked_at"]
    op = {
        "op_id": str(uuid.uuid4()),
        "type": "accept",
        "assignment_id": aid,
        "device_time": datetime.now(UTC).isoformat(),
    }
    refused = await client.post("/api/v1/sync", json={"operations": [op]}, headers=device)
    assert refused.status_code == 401 and refused.json()["code"] == "enrolment_revoked"
    assert (await client.get("/api/v1/me", headers=device)).json()["code"] == "enrolment_revoked"
    assert (await client.post(f"/api/v1/assignments/{aid}/accept", headers=device)).status_code == 401
    assert (await runtime.db[ASSIGNMENTS].find_one({"_id": aid}))["status"] == "planned"
    assert await runtime.db[SYNC_OPS].count_documents({}) == 0
    assert (await client.get(f"/api/v1/enrolments/{enrolment_id}/qr.png", headers=coordinator)).status_code == 410
    # a token that never came from an enrolment (the development tokens) is not concerned
    assert (await client.get("/api/v1/me", headers=auth("volunteer", sub="r1"))).status_code == 200
