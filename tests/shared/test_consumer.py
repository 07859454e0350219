"""The consumer against the real broker and database: exactly-once effects, retries, dead letters, crashes."""

import asyncio
import sys
from typing import Any

import aio_pika
from pydantic import SecretStr
from pymongo.errors import AutoReconnect

from shared.contracts.registration import VenueRegistered
from shared.envelope import Envelope, new_event
from shared.idempotency import INBOX, Batched
from shared.messaging import PermanentError, event_message
from shared.settings import REPO_ROOT, Settings
from shared.testing import RabbitVhost, eventually
from tests.shared.bus import VENUE_ROUTES, Bus, bus, count_venue, drain, queue_depth, running_consumer
from tests.shared.orphan_transaction import leave_orphaned_transaction

TYPE = "registration.venue.registered.v1"
SECRETS = {name for name, f in Settings.model_fields.items() if f.annotation is SecretStr}


def venue_event(venue_id: str) -> Envelope:
    data = VenueRegistered(venue_id=venue_id, city_code="450100", name="广西科技馆", org_type="science_museum")
    return new_event(TYPE, data, source="sciweek/registration", subject=f"venue/{venue_id}")


async def publish(b: Bus, event: Envelope) -> None:
    await b.broker.publish(event)


async def count(b: Bus, venue_id: str) -> int:
    doc = await b.db["counts"].find_one({"_id": venue_id})
    return int(doc["n"]) if doc else 0


def metric(b: Bus, name: str, **labels: str) -> float:
    return b.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_same_event_three_times_applies_once(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting")
    async with bus(settings) as b, running_consumer(b, VENUE_ROUTES):
        event = venue_event("v1")
        for _ in range(3):
            await publish(b, event)
        await eventually(lambda: _equals(lambda: metric(b, "sciweek_events_duplicate_total", type=TYPE), 2))
        assert await count(b, "v1") == 1
        assert metric(b, "sciweek_events_consumed_total", type=TYPE) == 1
    assert await queue_depth(vhost.url, settings.queue) == 0


async def _equals(read: Any, expected: float) -> bool:
    return bool(read() == expected)


async def test_poison_messages_go_to_the_dlq_and_the_queue_keeps_flowing(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting")
    async with bus(settings) as b, running_consumer(b, VENUE_ROUTES):
        assert b.broker.exchange is not None
        garbage = aio_pika.Message(b"{not json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT, type=TYPE)
        await b.broker.exchange.publish(garbage, routing_key=TYPE)
        bad_schema = venue_event("v2").model_copy(update={"data": {"venue_id": "v2", "city_code": "nowhere"}})
        await b.broker.exchange.publish(event_message(bad_schema), routing_key=TYPE)
        await publish(b, venue_event("v3"))
        await eventually(lambda: count(b, "v3"))
        dead = await eventually(lambda: _drained(vhost.url, f"{settings.queue}.dlq", 2))
        assert await count(b, "v2") == 0
    assert {m.headers["x-sciweek-reason"] for m in dead} == {"invalid"}


async def _drained(url: str, queue: str, n: int) -> list[Any]:
    return await drain(url, queue) if await queue_depth(url, queue) >= n else []


async def test_failing_handler_is_retried_then_dead_lettered(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting", max_retries=2, retry_delay_ms=200)
    calls: dict[str, int] = {}

    async def flaky(db: Any, session: Any, event: Envelope, data: Any) -> None:
        calls[data.venue_id] = calls.get(data.venue_id, 0) + 1
        if data.venue_id == "always" or (data.venue_id == "twice" and calls["twice"] <= 2):
            raise RuntimeError("database hiccup")
        await count_venue(db, session, event, data)

    async with bus(settings) as b, running_consumer(b, {TYPE: flaky}):
        await publish(b, venue_event("always"))
        await publish(b, venue_event("twice"))
        await publish(b, venue_event("fine"))
        await eventually(lambda: count(b, "fine"))
        await eventually(lambda: count(b, "twice"), timeout_s=20)
        dead = await eventually(lambda: _drained(vhost.url, f"{settings.queue}.dlq", 1), timeout_s=20)
        assert await count(b, "twice") == 1 and await count(b, "always") == 0
        assert await b.db[INBOX].count_documents({}) == 2  # a failed attempt leaves no "processed" record
    assert calls == {"always": 3, "twice": 3, "fine": 1}
    assert [m.headers["x-sciweek-reason"] for m in dead] == ["retries_exhausted"]


async def test_an_unreachable_database_does_not_use_up_retries(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting", max_retries=1, retry_delay_ms=100)
    calls = {"n": 0}

    async def outage(db: Any, session: Any, event: Envelope, data: Any) -> None:
        calls["n"] += 1
        if calls["n"] <= 4:  # four times more than the retries allowed
            raise AutoReconnect("connection refused")
        await count_venue(db, session, event, data)

    async with bus(settings) as b, running_consumer(b, {TYPE: outage}):
        await publish(b, venue_event("outage"))
        await eventually(lambda: count(b, "outage"), timeout_s=20)
    assert calls["n"] == 5
    assert await queue_depth(vhost.url, f"{settings.queue}.dlq") == 0


async def test_a_record_held_by_a_killed_process_holds_back_only_its_own_event(
    settings_for: Any, vhost: RabbitVhost
) -> None:
    settings = settings_for("reporting", transaction_deadline_s=1.0, max_retries=1, retry_delay_ms=200)
    async with bus(settings) as b, running_consumer(b, VENUE_ROUTES):
        await b.db["counts"].insert_one({"_id": "held", "n": 0})
        await leave_orphaned_transaction(settings.mongodb_url, settings.mongodb_db, "counts", "held")
        await publish(b, venue_event("held"))
        await publish(b, venue_event("free"))
        # unbounded, the worker would spin on "held" until the dead process's transaction expires (~60 s)
        await eventually(lambda: count(b, "free"), timeout_s=10)
        await eventually(lambda: _equals(lambda: metric(b, "sciweek_events_retried_total", type=TYPE) >= 3, True))
        assert await count(b, "held") == 0  # waits in the retry queue, not in a transaction
    assert await queue_depth(vhost.url, f"{settings.queue}.dlq") == 0  # its retries were not used up


async def test_shutdown_finishes_the_message_in_flight(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting", shutdown_grace_s=10)
    started = asyncio.Event()

    async def slow(db: Any, session: Any, event: Envelope, data: Any) -> None:
        started.set()
        await asyncio.sleep(1.0)
        await count_venue(db, session, event, data)

    async with bus(settings) as b:
        async with running_consumer(b, {TYPE: slow}):
            await publish(b, venue_event("slow"))
            await asyncio.wait_for(started.wait(), 10)
        assert await count(b, "slow") == 1  # stop() waited for it
    assert await queue_depth(vhost.url, settings.queue) == 0


async def test_killed_after_commit_before_ack_redelivery_is_deduplicated(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting")
    async with bus(settings) as b:
        async with running_consumer(b, VENUE_ROUTES):
            pass  # declare the queues and bindings, then leave
        await publish(b, venue_event("crash"))
        crashing = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.shared.crash_consumer",
            settings.model_dump_json(exclude=SECRETS),  # secrets dump masked; the child uses their defaults
            cwd=REPO_ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(crashing.communicate(), 60)
        assert crashing.returncode == -9, stderr.decode()
        assert await count(b, "crash") == 1  # the effect was committed before the process died
        async with running_consumer(b, VENUE_ROUTES):
            await eventually(lambda: _equals(lambda: metric(b, "sciweek_events_duplicate_total", type=TYPE), 1))
        assert await count(b, "crash") == 1
    assert await queue_depth(vhost.url, settings.queue) == 0


async def test_a_burst_with_repeats_is_applied_in_batches_exactly_once(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting")
    events = [venue_event(f"burst-{i}") for i in range(100)]
    async with bus(settings) as b:
        async with running_consumer(b, VENUE_ROUTES):
            await asyncio.gather(*(publish(b, e) for e in events * 3))
            await eventually(lambda: _equals(lambda: metric(b, "sciweek_events_duplicate_total", type=TYPE), 200))
        counts = [await count(b, e.data["venue_id"]) for e in events]
        assert counts == [1] * 100
        assert metric(b, "sciweek_events_consumed_total", type=TYPE) == 100
        grouped = await b.db[INBOX].aggregate([{"$group": {"_id": "$received_at", "n": {"$sum": 1}}}])
        batch_sizes = await grouped.to_list()
        assert max(g["n"] for g in batch_sizes) > 1  # deliveries that queued up shared a transaction
    assert await queue_depth(vhost.url, settings.queue) == 0


async def test_a_failing_event_in_a_batch_does_not_hold_back_the_others(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting", max_retries=1, retry_delay_ms=200)
    gate = asyncio.Event()

    async def picky(db: Any, session: Any, event: Envelope, data: Any) -> None:
        if data.venue_id == "first":
            await gate.wait()  # hold the worker so the next deliveries queue up into one batch
        if data.venue_id == "bad":
            raise RuntimeError("cannot project this one")
        await count_venue(db, session, event, data)

    async with bus(settings) as b, running_consumer(b, {TYPE: picky}) as consumer:
        await publish(b, venue_event("first"))
        for name in ("good-1", "bad", "good-2"):
            await publish(b, venue_event(name))
        await eventually(lambda: _equals(lambda: consumer.waiting, 3))  # waiting behind "first"
        gate.set()
        await eventually(lambda: count(b, "good-2"))
        assert [await count(b, n) for n in ("first", "good-1", "good-2", "bad")] == [1, 1, 1, 0]
        dead = await eventually(lambda: _drained(vhost.url, f"{settings.queue}.dlq", 1), timeout_s=20)
    assert [m.headers["x-sciweek-reason"] for m in dead] == ["retries_exhausted"]


async def test_a_batched_route_gets_the_fresh_events_of_a_batch_at_once(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("reporting")
    calls: list[list[str]] = []

    async def count_venues(db: Any, session: Any, events: list[tuple[Envelope, Any]]) -> None:
        calls.append([data.venue_id for _, data in events])
        if any(data.venue_id == "bad" for _, data in events):
            raise PermanentError("a venue this projection cannot take")
        for event, data in events:
            await count_venue(db, session, event, data)

    routes = {TYPE: Batched(count_venues)}
    async with bus(settings) as b:
        async with running_consumer(b, routes):
            pass  # declares the queue; the events below wait in it, so the consumer takes them in batches
        events = [venue_event(f"v{i}") for i in range(20)]
        for event in [*events, events[3]]:
            await publish(b, event)
        async with running_consumer(b, routes):
            await eventually(lambda: _equals(lambda: metric(b, "sciweek_events_consumed_total", type=TYPE), 20))
            assert [await count(b, f"v{i}") for i in range(20)] == [1] * 20
            assert max(len(c) for c in calls) > 1  # several events per call, each applied once
            assert [v for c in calls for v in c] == [f"v{i}" for i in range(20)]  # in order, the duplicate left out

        calls.clear()
        for venue in ("a", "bad", "b"):
            await publish(b, venue_event(venue))
        async with running_consumer(b, routes):
            await eventually(lambda: count(b, "b"))
            dead = await eventually(lambda: _drained(vhost.url, f"{settings.queue}.dlq", 1))
            assert (await count(b, "a"), await count(b, "bad")) == (1, 0)  # the failed batch left nothing behind
            assert ["bad"] in calls  # …and was applied one by one, so only the poison was dead-lettered
    assert dead[0].headers["x-sciweek-reason"] == "permanent"
