"""Public bookings against the real database: idempotent retries, caps, the waiting list and its offers."""

import asyncio
import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo.errors import AutoReconnect

from services.registration import store
from services.registration.main import create_app
from services.registration.service.bookings import reclaim_holds
from services.registration.store import BOOKINGS, SEATS
from shared.app import Runtime
from shared.mongo import utcnow
from shared.testing import eventually, outbox_events, running_service
from tests.registration.conftest import approved_venue, booking_body, published_openday

Auth = Callable[..., dict[str, str]]
BOOK = "/api/v1/public/bookings"


async def one_session(client: httpx.AsyncClient, auth: Auth, capacity: int) -> str:
    venue = await approved_venue(client, auth)
    openday = await published_openday(client, venue, capacities=(capacity,))
    return str(openday["sessions"][0]["session_id"])


async def events(runtime: Runtime, event_type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in await outbox_events(runtime.db, event_type)]


async def test_idempotency_key_replay_gives_one_booking_and_another_body_is_422(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    session_id = await one_session(client, auth, capacity=10)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(BOOK, json=booking_body(session_id, party_size=2), headers=key)
    again = await client.post(BOOK, json=booking_body(session_id, party_size=2), headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    other = await client.post(BOOK, json=booking_body(session_id, party_size=3), headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert await runtime.db[BOOKINGS].count_documents({"session_id": session_id}) == 1
    assert (await runtime.db[SEATS].find_one({"_id": session_id}))["remaining"] == 8
    assert len(await events(runtime, "registration.booking.confirmed.v1")) == 1


async def test_full_session_says_so_and_offers_the_waiting_list(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    session_id = await one_session(client, auth, capacity=2)
    assert (await client.post(BOOK, json=booking_body(session_id, party_size=2))).status_code == 201
    full = await client.post(BOOK, json=booking_body(session_id, phone="13900000001"))
    assert full.status_code == 409 and full.json()["code"] == "session_full" and full.json()["waitlist_available"]
    queued = await client.post(BOOK, json=booking_body(session_id, phone="13900000001", waitlist_if_full=True))
    assert queued.status_code == 201 and queued.json()["status"] == "waitlisted" and queued.json()["ticket"] is None
    assert len(await events(runtime, "registration.booking.waitlisted.v1")) == 1


async def test_cancel_promotes_the_first_waiting_party_and_accepting_confirms(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    session_id = await one_session(client, auth, capacity=2)
    holder = (await client.post(BOOK, json=booking_body(session_id, party_size=2))).json()
    first = (await client.post(BOOK, json=booking_body(session_id, phone="13900000001", waitlist_if_full=True))).json()
    second = (await client.post(BOOK, json=booking_body(session_id, phone="13900000002", waitlist_if_full=True))).json()

    cancelled = await client.post(f"{BOOK}/{holder['code']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await client.post(f"{BOOK}/{holder['code']}/cancel")).status_code == 200  # a retry is harmless
    offered = (await client.get(f"{BOOK}/{first['code']}")).json()
    assert offered["status"] == "offered" and offered["offer_expires_at"] is not None
    assert (await client.get(f"{BOOK}/{second['code']}")).json()["status"] == "offered"  # both fit in 2 seats
    assert (await runtime.db[SEATS].find_one({"_id": session_id}))["remaining"] == 0

    accepted = await client.post(f"{BOOK}/{first['code']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "confirmed" and accepted.json()["ticket"]
    assert [e["booking_id"] for e in await events(runtime, "registration.booking.promoted.v1")] == [
        first["id"],
        second["id"],
    ]
    assert [e["booking_id"] for e in await events(runtime, "registration.booking.confirmed.v1")] == [
        holder["id"],
        first["id"],
    ]
    assert [e["booking_id"] for e in await events(runtime, "registration.booking.cancelled.v1")] == [holder["id"]]


async def test_waiting_list_is_served_in_order(registration: Any, auth: Auth) -> None:
    _, client = registration
    session_id = await one_session(client, auth, capacity=1)
    holder = (await client.post(BOOK, json=booking_body(session_id))).json()
    queue = [
        (await client.post(BOOK, json=booking_body(session_id, phone=f"1390000000{i}", waitlist_if_full=True))).json()
        for i in range(3)
    ]
    await client.post(f"/api/v1/bookings/{holder['id']}/cancel", headers=auth("venue", sub="op-1"))
    states = [(await client.get(f"{BOOK}/{b['code']}")).json()["status"] for b in queue]
    assert states == ["offered", "waitlisted", "waitlisted"]
    assert (await client.get(f"{BOOK}/{holder['code']}")).json()["cancelled_by"] == "operator"


async def test_expired_offer_passes_to_the_next_in_line(registration_settings: Callable[..., Any], auth: Auth) -> None:
    settings = registration_settings(registration_offer_ttl_s=0.5, registration_offer_sweep_s=0.2)
    async with running_service(create_app(settings)) as (runtime, client):
        session_id = await one_session(client, auth, capacity=1)
        holder = (await client.post(BOOK, json=booking_body(session_id))).json()
        first = (
            await client.post(BOOK, json=booking_body(session_id, phone="13900000001", waitlist_if_full=True))
        ).json()
        second = (
            await client.post(BOOK, json=booking_body(session_id, phone="13900000002", waitlist_if_full=True))
        ).json()
        await client.post(f"{BOOK}/{holder['code']}/cancel")
        assert (await client.get(f"{BOOK}/{first['code']}")).json()["status"] == "offered"

        async def second_offered() -> bool:
            return bool((await client.get(f"{BOOK}/{second['code']}")).json()["status"] == "offered")

        await eventually(second_offered, timeout_s=10)
        assert (await client.get(f"{BOOK}/{first['code']}")).json()["status"] == "expired"
        late = await client.post(f"{BOOK}/{first['code']}/accept")
        assert late.status_code == 409 and late.json()["code"] == "no_offer"
        promoted = [e["booking_id"] for e in await events(runtime, "registration.booking.promoted.v1")]
        assert promoted == [first["id"], second["id"]]
        # an offer that lapsed was never a confirmed booking: only the holder's cancellation is reported
        assert [e["booking_id"] for e in await events(runtime, "registration.booking.cancelled.v1")] == [holder["id"]]
        assert (await runtime.db[SEATS].find_one({"_id": session_id}))["remaining"] == 0


async def test_one_phone_cannot_hoard_a_day(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    venue = await approved_venue(client, auth)
    sessions = [s["session_id"] for s in (await published_openday(client, venue, capacities=(5, 5, 5, 5)))["sessions"]]
    for session_id in sessions[:3]:
        assert (await client.post(BOOK, json=booking_body(session_id))).status_code == 201
    fourth = await client.post(BOOK, json=booking_body(sessions[3]))
    assert fourth.status_code == 409 and fourth.json()["code"] == "daily_cap_reached"
    assert (await runtime.db[SEATS].find_one({"_id": sessions[3]}))["remaining"] == 5  # the seat taken went back
    assert await runtime.db[BOOKINGS].count_documents({"session_id": sessions[3]}) == 0


async def test_group_size_and_unknown_session_are_refused(registration: Any, auth: Auth) -> None:
    _, client = registration
    session_id = await one_session(client, auth, capacity=50)
    too_big = await client.post(BOOK, json=booking_body(session_id, party_size=11))
    assert too_big.status_code == 422 and too_big.json()["code"] == "group_too_large"
    missing = await client.post(BOOK, json=booking_body("no-such-session"))
    assert missing.status_code == 404 and missing.json()["code"] == "session_not_found"
    bad_phone = await client.post(BOOK, json=booking_body(session_id, phone="12345"))
    assert bad_phone.status_code == 422 and bad_phone.json()["code"] == "validation_error"


async def test_booker_finds_the_booking_by_code_with_a_qr_image_and_the_operator_lists_it(
    registration: Any, auth: Auth
) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    openday = await published_openday(client, venue, capacities=(1,))
    session_id = openday["sessions"][0]["session_id"]
    booked = (await client.post(BOOK, json=booking_body(session_id))).json()
    waiting = (
        await client.post(BOOK, json=booking_body(session_id, phone="13900000001", waitlist_if_full=True))
    ).json()
    found = (await client.get(f"{BOOK}/{booked['code'].lower()}")).json()
    assert found["id"] == booked["id"] and found["phone"] == "138****0000"
    image = await client.get(f"{BOOK}/{booked['code']}/qr.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    no_ticket = await client.get(f"{BOOK}/{waiting['code']}/qr.png")
    assert no_ticket.status_code == 409 and no_ticket.json()["code"] == "not_confirmed"
    assert (await client.get(f"{BOOK}/NOSUCHCODE")).status_code == 404

    url = f"/api/v1/opendays/{openday['id']}/bookings"
    first = (await client.get(url, params={"limit": 1}, headers=venue.operator)).json()
    rest = (await client.get(url, params={"cursor": first["next_cursor"]}, headers=venue.operator)).json()
    assert {b["id"] for b in first["items"] + rest["items"]} == {booked["id"], waiting["id"]}
    assert (await client.get(url, headers=auth("venue", sub="op-2"))).status_code == 404


async def test_two_replicas_expiring_offers_pass_each_on_once(
    registration_settings: Callable[..., Any], auth: Auth
) -> None:
    settings = registration_settings(registration_offer_ttl_s=0.3, registration_offer_sweep_s=0.05)
    async with (
        running_service(create_app(settings)) as (runtime, client),
        running_service(create_app(settings)),  # a second replica sweeping the same database
    ):
        session_id = await one_session(client, auth, capacity=1)
        holder = (await client.post(BOOK, json=booking_body(session_id))).json()
        queue = [
            (
                await client.post(BOOK, json=booking_body(session_id, phone=f"1390000000{i}", waitlist_if_full=True))
            ).json()
            for i in range(3)
        ]
        await client.post(f"{BOOK}/{holder['code']}/cancel")

        async def all_expired() -> bool:
            states = [(await client.get(f"{BOOK}/{b['code']}")).json()["status"] for b in queue]
            return states == ["expired"] * 3

        await eventually(all_expired, timeout_s=15)
        promoted = [e["booking_id"] for e in await events(runtime, "registration.booking.promoted.v1")]
        assert promoted == [b["id"] for b in queue]
        seat = await runtime.db[SEATS].find_one({"_id": session_id})
        assert seat is not None and seat["remaining"] == 1 and seat["taken"] == 0


async def test_seats_held_by_a_booking_that_never_committed_go_back(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    session_id = await one_session(client, auth, capacity=5)
    committed = (await client.post(BOOK, json=booking_body(session_id))).json()
    assert await store.take_seats(runtime.db, session_id, 2, "died-before-commit")  # a process killed right here
    # a committed booking whose process died before forgetting its hold
    long_ago = utcnow() - timedelta(minutes=10)  # both holds are older than the timeout, whatever the clock's grain
    await runtime.db[SEATS].update_one(
        {"_id": session_id},
        {"$set": {f"holds.{committed['id']}": {"n": 1, "at": long_ago}, "holds.died-before-commit.at": long_ago}},
    )
    assert (await runtime.db[SEATS].find_one({"_id": session_id}))["remaining"] == 2

    later = runtime.settings.model_copy(update={"registration_hold_timeout_s": 60})
    assert await reclaim_holds(dataclasses.replace(runtime, settings=later)) == 1
    seat = await runtime.db[SEATS].find_one({"_id": session_id})
    assert seat is not None and seat["remaining"] == 4 and seat["taken"] == 1 and seat["holds"] == {}


async def test_a_booking_committed_but_unacknowledged_keeps_its_seats(
    registration: Any, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection dies after the commit: the booker gets 503, yet the seats must not go back (they are the
    booking's); its retry with the same key gets the booking, and the hold is settled, never returned."""
    runtime, client = registration
    session_id = await one_session(client, auth, capacity=5)
    commit_group = runtime.group._commit_group

    async def committed_then_lost(members: list[Any]) -> list[BaseException | None]:
        await commit_group(members)  # committed, but the acknowledgement never arrives
        return [AutoReconnect("connection lost after the commit (test)") for _ in members]

    monkeypatch.setattr(runtime.group, "_commit_group", committed_then_lost)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    lost = await client.post(BOOK, json=booking_body(session_id, party_size=2), headers=key)
    assert lost.status_code == 503 and lost.headers["Retry-After"]
    monkeypatch.undo()
    seat = await runtime.db[SEATS].find_one({"_id": session_id})
    assert seat is not None and seat["remaining"] == 3  # held for the booking that did commit
    again = await client.post(BOOK, json=booking_body(session_id, party_size=2), headers=key)
    assert again.status_code == 201 and await runtime.db[BOOKINGS].count_documents({"_id": again.json()["id"]}) == 1

    long_ago = utcnow() - timedelta(minutes=10)
    await runtime.db[SEATS].update_one({"_id": session_id}, {"$set": {f"holds.{again.json()['id']}.at": long_ago}})
    later = runtime.settings.model_copy(update={"registration_hold_timeout_s": 60})
    assert await reclaim_holds(dataclasses.replace(runtime, settings=later)) == 0  # settled: its booking exists
    seat = await runtime.db[SEATS].find_one({"_id": session_id})
    assert seat is not None and seat["remaining"] == 3 and seat["holds"] == {}


async def test_seats_are_conserved_when_bookings_and_cancellations_race(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    session_id = await one_session(client, auth, capacity=10)

    async def book(i: int) -> dict[str, Any]:
        body = booking_body(session_id, phone=f"1360000{i:04d}", party_size=1 + i % 2, waitlist_if_full=True)
        return dict((await client.post(BOOK, json=body)).json())

    first = await asyncio.gather(*(book(i) for i in range(20)))
    confirmed = [b for b in first if b["status"] == "confirmed"]
    cancels = [client.post(f"{BOOK}/{b['code']}/cancel") for b in confirmed[:4]]
    replies = await asyncio.gather(*cancels, *(book(i) for i in range(20, 30)))
    assert all(r.status_code == 200 for r in replies[:4])

    seat = await runtime.db[SEATS].find_one({"_id": session_id})
    holding = runtime.db[BOOKINGS].find({"session_id": session_id, "status": {"$in": ["confirmed", "offered"]}})
    held = sum([b["party_size"] async for b in holding])
    assert seat is not None and seat["holds"] == {}
    assert held + seat["remaining"] == 10 and seat["taken"] == held


async def test_booking_outside_its_window_is_refused(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    openday = await published_openday(client, venue, booking_opens_at=later)
    early = await client.post(BOOK, json=booking_body(openday["sessions"][0]["session_id"]))
    assert early.status_code == 409 and early.json()["code"] == "booking_not_open"
