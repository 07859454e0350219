"""Operator invitations (one-time, revocable), session cancellation seen by bookers, the door list, XLSX, ticket key."""

import io
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openpyxl import load_workbook

from tests.registration.conftest import CITY, approved_venue, booking_body, published_openday, today

Auth = Callable[..., dict[str, str]]
ACCEPT = "/api/v1/public/invitations/accept"


async def test_invitation_is_accepted_once_and_revoking_it_locks_the_device_out(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    city = auth("city", city=CITY)
    made = await client.post("/api/v1/invitations", json={"label": "王老师", "venue_ids": [venue.id]}, headers=city)
    assert made.status_code == 201, made.text
    assert made.json()["qr"].startswith("data:image/png;base64,") and "#invite=" in made.json()["link"]
    secret = made.json()["secret"]
    first = await client.post(ACCEPT, json={"secret": secret, "device_id": "device-0001"})
    retry = await client.post(ACCEPT, json={"secret": secret, "device_id": "device-0001"})
    other = await client.post(ACCEPT, json={"secret": secret, "device_id": "device-0002"})
    assert first.status_code == retry.status_code == 200 and other.json()["code"] == "invitation_used"
    operator = {"Authorization": f"Bearer {first.json()['token']}"}
    assert (await client.get(f"/api/v1/venues/{venue.id}/opendays", headers=operator)).status_code == 200
    other_city = auth("city", city="450200")
    assert (await client.post(f"/api/v1/invitations/{made.json()['id']}/revoke", headers=other_city)).status_code == 404
    revoked = await client.post(f"/api/v1/invitations/{made.json()['id']}/revoke", headers=city)
    assert revoked.json()["status"] == "revoked"
    locked = await client.get(f"/api/v1/venues/{venue.id}/opendays", headers=operator)
    assert locked.status_code == 401 and locked.json()["code"] == "credential_revoked"
    listed = await client.get("/api/v1/invitations", headers=city)
    assert [i["status"] for i in listed.json()] == ["revoked"]


async def test_cancelled_session_cancels_its_bookings_and_takes_no_more(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    openday = await published_openday(client, venue, capacities=(1, 5))
    full, other = (s["session_id"] for s in openday["sessions"])
    booked = (await client.post("/api/v1/public/bookings", json=booking_body(full))).json()
    waiting = booking_body(full, phone="13800000001", waitlist_if_full=True)
    queued = (await client.post("/api/v1/public/bookings", json=waiting)).json()
    kept = (await client.post("/api/v1/public/bookings", json=booking_body(other, phone="13800000002"))).json()
    url = f"/api/v1/opendays/{openday['id']}/sessions/{full}/cancel"
    done = await client.post(url, headers=venue.operator)
    assert done.status_code == 200 and (await client.post(url, headers=venue.operator)).status_code == 200
    assert [s["cancelled"] for s in done.json()["sessions"]] == [True, False]
    for code, status in ((booked["code"], "cancelled"), (queued["code"], "cancelled"), (kept["code"], "confirmed")):
        seen = (await client.get(f"/api/v1/public/bookings/{code}")).json()
        assert seen["status"] == status
    assert (await client.get(f"/api/v1/public/bookings/{booked['code']}")).json()[
        "cancel_reason"
    ] == "session_cancelled"
    late = booking_body(full, phone="13800000003", waitlist_if_full=True)  # a plain booking may hear "full" for 1 s
    refused = await client.post("/api/v1/public/bookings", json=late)
    assert refused.status_code == 409 and refused.json()["code"] == "session_cancelled"
    sheet = await client.get(f"/api/v1/opendays/{openday['id']}/bookings.xlsx", headers=venue.operator)
    rows = list(load_workbook(io.BytesIO(sheet.content)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 4 and {r[5] for r in rows[1:]} == {"已取消", "已确认"}


async def test_door_list_and_public_key_let_a_device_verify_tickets(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    openday = await published_openday(client, venue, day=today())
    booking = (
        await client.post("/api/v1/public/bookings", json=booking_body(openday["sessions"][0]["session_id"]))
    ).json()
    key = (await client.get("/api/v1/public/ticket-key")).json()
    public = jwt.PyJWK({"kty": "OKP", "crv": "Ed25519", "x": key["x"]}, algorithm="EdDSA")
    assert jwt.decode(booking["ticket"], public, algorithms=["EdDSA"])["b"] == booking["id"]
    forged = jwt.encode(
        jwt.decode(booking["ticket"], options={"verify_signature": False}),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
    )
    refused = await client.post(f"/api/v1/venues/{venue.id}/checkins", json={"token": forged}, headers=venue.operator)
    assert refused.status_code == 422
    door = await client.get(f"/api/v1/venues/{venue.id}/door-list?date={today()}", headers=venue.operator)
    assert [(b["code"], b["ticket"]) for b in door.json()["bookings"]] == [(booking["code"], booking["ticket"])]
    outsider = await approved_venue(client, auth, operator="op-other")
    assert (
        await client.get(f"/api/v1/venues/{venue.id}/door-list?date={today()}", headers=outsider.operator)
    ).status_code == 404
