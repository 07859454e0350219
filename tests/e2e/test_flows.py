"""End to end, one cross-service flow per test: the real processes of the producer and of reporting, over the run's
broker and database, driven only through their HTTP APIs; reporting's figures are read from its API."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from sciweek.embedded import ServiceProcess
from shared.idempotency import INBOX
from shared.outbox import OUTBOX, entry_envelopes
from shared.testing import eventually
from tests.conftest import ProcessStarter, today
from tests.registration.conftest import approved_venue, booking_body, published_openday

Auth = Callable[..., dict[str, str]]


async def consumer_attached(reporting: ServiceProcess) -> bool:
    """Whether reporting consumes: started first and bound, so the producer's events have somewhere to go."""
    async with httpx.AsyncClient(base_url=reporting.url) as client:
        return bool((await client.get("/readyz")).json()["checks"].get("consumer"))


async def caught_up(mongodb_url: str, producer_db: str, reporting_db: str) -> bool:
    """Whether reporting's event log holds every event the producer's relay published, and nothing is pending."""
    async with AsyncMongoClient(mongodb_url) as mongo:
        outbox = mongo[producer_db][OUTBOX]
        if await outbox.count_documents({"status": {"$ne": "sent"}}):
            return False
        sent = {e["id"] async for entry in outbox.find({}) for e in entry_envelopes(entry)}
        logged = {e["event"]["id"] async for e in mongo[reporting_db][INBOX].find({}, {"event.id": 1})}
        return bool(sent) and sent <= logged


async def dashboard(reporting: ServiceProcess, auth: Auth) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=reporting.url) as client:
        answer = await client.get("/api/v1/dashboard", headers=auth("admin", sub="office"))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def city(board: dict[str, Any], code: str) -> dict[str, Any]:
    return dict(next(c for c in board["cities"] if c["city_code"] == code))


async def test_a_visitor_booked_and_checked_in_at_the_door_is_counted_once(
    service_process: ProcessStarter, mongodb_url: str, auth: Auth
) -> None:
    reporting, reporting_db = service_process("reporting")
    await eventually(lambda: consumer_attached(reporting), timeout_s=30)
    registration, registration_db = service_process("registration")
    async with httpx.AsyncClient(base_url=registration.url, timeout=30) as client:
        venue = await approved_venue(client, auth, operator="op-e2e", city="450300")
        openday = await published_openday(client, venue, day=today(), capacities=(30,))
        session_id = openday["sessions"][0]["session_id"]
        booked = await client.post(
            "/api/v1/public/bookings",
            json=booking_body(session_id, phone="13912345678", party_size=3),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert booked.status_code == 201, booked.text
        ticket = booked.json()["ticket"]

        door = f"/api/v1/venues/{venue.id}/checkins"
        scanned = await client.post(door, json={"token": ticket}, headers=venue.operator)
        assert scanned.status_code == 200 and scanned.json()["result"] == "checked_in", scanned.text
        # a second door phone scanned the same ticket offline and uploads its batch twice
        offline = {"scan_id": str(uuid.uuid4()), "token": ticket, "scanned_at": datetime.now(UTC).isoformat()}
        for _ in range(2):
            batch = await client.post(f"{door}/batch", json={"scans": [offline]}, headers=venue.operator)
            assert batch.status_code == 200, batch.text
            assert [r["result"] for r in batch.json()["results"]] != ["checked_in"]

    await eventually(lambda: caught_up(mongodb_url, registration_db, reporting_db), timeout_s=30)
    board = await dashboard(reporting, auth)
    figures = ("venues_approved", "opendays", "bookings", "booked_people", "visitors")
    assert {k: board["totals"][k] for k in figures} == dict.fromkeys(figures, 1) | {"booked_people": 3, "visitors": 3}
    guilin = city(board, "450300")
    assert (guilin["bookings"], guilin["visitors"]) == (1, 3)
    assert city(board, "450100")["visitors"] == 0
    day = next(d for d in board["days"] if d["date"] == today().isoformat())
    assert day["visitors"] == 3


async def test_an_exhibit_submitted_reviewed_and_accepted_reaches_the_figures(
    service_process: ProcessStarter, mongodb_url: str, auth: Auth
) -> None:
    reporting, reporting_db = service_process("reporting")
    await eventually(lambda: consumer_attached(reporting), timeout_s=30)
    exhibits, exhibits_db = service_process("exhibits")
    exhibitor = auth("exhibitor", sub="user-gxu", org="gxu", city="450100")
    admin = auth("admin", sub="office")
    async with httpx.AsyncClient(base_url=exhibits.url, timeout=30) as client:
        body = {"title": "甘蔗全程机械化收获机", "zone": 3, "industry": "现代农业", "summary": "适合丘陵地带"}
        created = await client.post("/api/v1/submissions", json={**body, "submit": True}, headers=exhibitor)
        assert created.status_code == 201, created.text
        exhibit_id = created.json()["id"]
        assigned = await client.put("/api/v1/reviewers/rev-e2e", json={"zones": [3]}, headers=admin)
        assert assigned.status_code == 200, assigned.text
        scores = dict.fromkeys(("advancement", "show_value", "physical", "relevance"), 4)
        reviewed = await client.post(
            f"/api/v1/submissions/{exhibit_id}/reviews",
            json={"scores": scores, "comment": "演示效果好"},
            headers=auth("reviewer", sub="rev-e2e"),
        )
        assert reviewed.status_code == 200, reviewed.text
        decided = await client.post(
            f"/api/v1/submissions/{exhibit_id}/decision", json={"decision": "accepted"}, headers=admin
        )
        assert decided.status_code == 200 and decided.json()["status"] == "accepted", decided.text

    await eventually(lambda: caught_up(mongodb_url, exhibits_db, reporting_db), timeout_s=30)
    board = await dashboard(reporting, auth)
    figures = ("exhibits_submitted", "reviews", "exhibits_accepted", "exhibits_rejected", "exhibits_confirmed")
    expected = {"exhibits_submitted": 1, "reviews": 1, "exhibits_accepted": 1, "exhibits_rejected": 0}
    assert {k: board["totals"][k] for k in figures} == expected | {"exhibits_confirmed": 0}
    zone = next(z for z in board["zones"] if z["id"] == 3)
    assert (zone["exhibits_submitted"], zone["exhibits_accepted"], zone["reviews"]) == (1, 1, 1)
    assert city(board, "450100")["exhibits_accepted"] == 1
