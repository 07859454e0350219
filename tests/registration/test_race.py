"""The 1000-for-100 race against the running service: a real process, real sockets, real database and broker."""

import asyncio
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from sciweek.embedded import ServiceProcess
from services.registration.store import BOOKINGS, SEATS
from shared.mongo import connect_mongo
from shared.testing import outbox_events
from tests.conftest import ProcessStarter
from tests.registration.conftest import Venue, booking_body, published_openday

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def registration_process(service_process: ProcessStarter) -> tuple[ServiceProcess, str]:
    return service_process("registration", SCIWEEK_PUBLIC_RATE_LIMIT="1000000/minute")


async def test_1000_concurrent_requests_for_100_seats_give_exactly_100(
    registration_process: tuple[ServiceProcess, str], mongodb_url: str, auth: Auth
) -> None:
    process, db_name = registration_process
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    async with httpx.AsyncClient(base_url=process.url, timeout=120, limits=limits) as client:
        operator = auth("venue", sub="race-operator")
        created = await client.post(
            "/api/v1/venues",
            json={"name": "南宁科技馆", "org_type": "science_museum", "city_code": "450100"},
            headers=operator,
        )
        venue_id = created.json()["id"]
        await client.post(f"/api/v1/venues/{venue_id}/approve", headers=auth("city", city="450100"))
        openday = await published_openday(client, Venue(venue_id, operator), capacities=(100,))
        session_id = openday["sessions"][0]["session_id"]

        async def book(phone: str) -> httpx.Response:
            # like a phone: on a dropped connection, retry the same request with the same Idempotency-Key
            for attempt in range(5):
                try:
                    return await client.post(
                        "/api/v1/public/bookings",
                        json=booking_body(session_id, phone=phone),
                        headers={"Idempotency-Key": f"race-{phone}"},
                    )
                except httpx.TransportError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))
            raise AssertionError("unreachable")

        replies = await asyncio.gather(*(book(f"139{i:08d}") for i in range(1000)))
        listing = (await client.get("/api/v1/public/opendays")).json()

    statuses = Counter(r.status_code for r in replies)
    assert statuses == {201: 100, 409: 900}, statuses
    refusals = {r.json()["code"] for r in replies if r.status_code == 409}
    assert refusals == {"session_full"}
    assert all(r.json()["waitlist_available"] for r in replies if r.status_code == 409)

    mongo = connect_mongo(mongodb_url)
    try:
        db = mongo[db_name]
        seat = await db[SEATS].find_one({"_id": session_id})
        confirmed = await db[BOOKINGS].count_documents({"session_id": session_id, "status": "confirmed"})
        events = len(await outbox_events(db, "registration.booking.confirmed.v1"))
    finally:
        await mongo.close()
    assert seat is not None and seat["remaining"] == 0
    assert confirmed == 100 == events
    assert confirmed + seat["remaining"] == seat["capacity"] == 100
    assert listing["items"][0]["sessions"][0]["remaining"] == 0
    assert len({r.json()["id"] for r in replies if r.status_code == 201}) == 100
