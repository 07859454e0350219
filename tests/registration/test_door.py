"""Door check-in: signed tickets, clear refusals, offline batches uploaded twice, people inside."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from services.registration.domain.tickets import ISSUER
from services.registration.store import BOOKINGS
from shared.outbox import OUTBOX
from tests.registration.conftest import Venue, approved_venue, booking_body, published_openday, today

Auth = Callable[..., dict[str, str]]
BOOK = "/api/v1/public/bookings"
CHECKED_IN = "registration.visitor.checked_in.v1"


async def tickets(client: httpx.AsyncClient, venue: Venue, count: int, day_offset: int = 0) -> list[dict[str, Any]]:
    openday = await published_openday(client, venue, day=today() + timedelta(days=day_offset), capacities=(50,))
    session_id = openday["sessions"][0]["session_id"]
    made = [
        await client.post(BOOK, json=booking_body(session_id, phone=f"1370000{i:04d}", party_size=2))
        for i in range(count)
    ]
    assert all(m.status_code == 201 for m in made)
    return [m.json() for m in made]


async def test_scan_checks_in_once_then_says_when(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    venue = await approved_venue(client, auth)
    (booking,) = await tickets(client, venue, 1)
    url = f"/api/v1/venues/{venue.id}/checkins"
    first = await client.post(url, json={"token": booking["ticket"]}, headers=venue.operator)
    assert first.status_code == 200 and first.json()["result"] == "checked_in" and first.json()["party_size"] == 2
    again = await client.post(url, json={"token": booking["ticket"]}, headers=venue.operator)
    assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
    assert "already checked in at" in again.json()["detail"]
    assert await runtime.db[OUTBOX].count_documents({"type": CHECKED_IN}) == 1


async def test_forged_and_altered_tickets_are_rejected(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    venue = await approved_venue(client, auth)
    (booking,) = await tickets(client, venue, 1)
    claims = jwt.decode(booking["ticket"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "n": 9}, "a-guessed-secret-that-is-not-the-service-one!", algorithm="HS256")
    header, _, signature = booking["ticket"].split(".")
    altered = ".".join(
        [
            header,
            jwt.utils.base64url_encode(
                b'{"iss":"%s","b":"x","v":"y","s":"z","d":"w","n":1}' % ISSUER.encode()
            ).decode(),
            signature,
        ]
    )
    url = f"/api/v1/venues/{venue.id}/checkins"
    for token in (forged, altered, "not-a-ticket-at-all"):
        refused = await client.post(url, json={"token": token}, headers=venue.operator)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_ticket", token
    assert (await runtime.db[BOOKINGS].find_one({"_id": booking["id"]}))["checked_in_at"] is None


async def test_wrong_venue_wrong_day_and_cancelled_are_refused_with_reason(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    other = await approved_venue(client, auth, operator="op-2")
    (today_ticket, cancelled) = await tickets(client, venue, 2)
    (tomorrow_ticket,) = await tickets(client, venue, 1, day_offset=1)
    await client.post(f"{BOOK}/{cancelled['code']}/cancel")

    async def scan(at: Venue, booking: dict[str, Any]) -> str:
        reply = await client.post(
            f"/api/v1/venues/{at.id}/checkins", json={"token": booking["ticket"]}, headers=at.operator
        )
        assert reply.status_code == 409
        return str(reply.json()["code"])

    assert await scan(other, today_ticket) == "wrong_venue"
    assert await scan(venue, tomorrow_ticket) == "wrong_day"
    assert await scan(venue, cancelled) == "booking_cancelled"


async def test_offline_batch_uploaded_twice_checks_each_in_once_and_reports_cancelled(
    registration: Any, auth: Auth
) -> None:
    runtime, client = registration
    venue = await approved_venue(client, auth)
    booked = await tickets(client, venue, 4)
    await client.post(f"{BOOK}/{booked[3]['code']}/cancel")  # cancelled after the door's phone went offline
    scanned_at = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
    scans = [{"scan_id": str(uuid.uuid4()), "token": b["ticket"], "scanned_at": scanned_at} for b in booked]
    url = f"/api/v1/venues/{venue.id}/checkins/batch"
    first = await client.post(url, json={"scans": scans}, headers=venue.operator)
    again = await client.post(url, json={"scans": scans}, headers=venue.operator)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert [r["result"] for r in first.json()["results"]] == ["checked_in"] * 3 + ["booking_cancelled"]
    assert first.json()["alerts"] == 1 and first.json()["results"][3]["alert"] is True
    assert await runtime.db[OUTBOX].count_documents({"type": CHECKED_IN}) == 3
    offline = [e["envelope"]["data"]["offline"] async for e in runtime.db[OUTBOX].find({"type": CHECKED_IN})]
    assert offline == [True, True, True]


async def test_people_inside_for_venues_that_track_exit(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth, tracks_exit=True)
    first, second = await tickets(client, venue, 2)
    for booking in (first, second):
        await client.post(
            f"/api/v1/venues/{venue.id}/checkins", json={"token": booking["ticket"]}, headers=venue.operator
        )
    left = await client.post(
        f"/api/v1/venues/{venue.id}/exits", json={"token": first["ticket"]}, headers=venue.operator
    )
    assert left.json() == {"result": "left", "inside": 2}
    again = await client.post(
        f"/api/v1/venues/{venue.id}/exits", json={"token": first["ticket"]}, headers=venue.operator
    )
    assert again.json() == {"result": "not_inside", "inside": 2}
    presence = await client.get(
        f"/api/v1/venues/{venue.id}/presence", params={"date": today().isoformat()}, headers=venue.operator
    )
    assert presence.json()["inside"] == 2 and presence.json()["entered"] == 4


async def test_another_operator_cannot_scan_at_my_venue(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    (booking,) = await tickets(client, venue, 1)
    intruder = auth("venue", sub="op-2")
    reply = await client.post(
        f"/api/v1/venues/{venue.id}/checkins", json={"token": booking["ticket"]}, headers=intruder
    )
    assert reply.status_code == 404 and reply.json()["code"] == "venue_not_found"


async def test_a_retried_online_scan_with_its_scan_id_gets_the_first_answer(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    venue = await approved_venue(client, auth)
    (booking,) = await tickets(client, venue, 1)
    scan = {"token": booking["ticket"], "scan_id": str(uuid.uuid4())}
    url = f"/api/v1/venues/{venue.id}/checkins"
    first = await client.post(url, json=scan, headers=venue.operator)
    retried = await client.post(url, json=scan, headers=venue.operator)
    assert first.status_code == retried.status_code == 200 and first.json() == retried.json()
    assert await runtime.db[OUTBOX].count_documents({"type": CHECKED_IN, "envelope.data.offline": False}) == 1
