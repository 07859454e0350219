"""Outbox and relay against the real broker and database: atomic writes, confirms, outages, the lease."""

import asyncio
from typing import Any

import aio_pika
import pytest
from pymongo.errors import DuplicateKeyError

from shared.contracts.registration import VenueRegistered
from shared.envelope import Envelope, new_event
from shared.messaging import CHANNEL_RENEW_AFTER_S
from shared.mongo import in_transaction
from shared.outbox import OUTBOX, Outbox, Relay, add_to_outbox, entry_envelopes
from shared.testing import RabbitVhost, eventually, tap_events
from tests.shared.bus import bus, drain, queue_depth, running_relay, write_events


def venue(i: int) -> VenueRegistered:
    return VenueRegistered(venue_id=f"v{i}", city_code="450100", name=f"场馆{i}", org_type="science_museum")


def venue_event(i: int) -> Envelope:
    return new_event("registration.venue.registered.v1", venue(i), source="sciweek/registration", subject=f"venue/v{i}")


async def pending(b: Any) -> int:
    return int(await b.db[OUTBOX].count_documents({"status": "pending"}))


async def test_failed_outbox_write_leaves_no_state(settings_for: Any) -> None:
    async with bus(settings_for("registration")) as b:
        event = venue_event(1)
        await write_events(b, [event])  # an entry with this id exists: the next outbox write will fail

        async def change_with_event(session: Any) -> None:
            await b.db["venues"].insert_one({"_id": "v1", "name": "场馆1"}, session=session)
            await add_to_outbox(b.db, session, event)

        with pytest.raises(DuplicateKeyError):
            await in_transaction(b.mongo, change_with_event, timeout_s=5)
        assert await b.db["venues"].count_documents({}) == 0
        assert await b.db[OUTBOX].count_documents({}) == 1


async def test_relay_publishes_persistent_confirmed_messages(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("registration")
    async with bus(settings) as b:
        await tap_events(b.broker, name=f"{settings.namespace}.tap")
        events = [venue_event(i) for i in range(3)]
        await write_events(b, events)
        async with running_relay(b):
            await eventually(lambda: queue_depth(vhost.url, f"{settings.namespace}.tap"))
            await eventually(lambda: _none_pending(b))
        messages = await drain(vhost.url, f"{settings.namespace}.tap")
        assert sorted(m.message_id or "" for m in messages) == sorted(e.id for e in events)
        assert {m.delivery_mode for m in messages} == {aio_pika.DeliveryMode.PERSISTENT}
        assert {m.routing_key for m in messages} == {"registration.venue.registered.v1"}
        assert Envelope.model_validate_json(messages[0].body).type == "registration.venue.registered.v1"
        sent = await b.db[OUTBOX].find_one({"_id": events[0].id})
        assert sent is not None and sent["status"] == "sent"


async def test_events_committed_together_are_one_entry_published_one_by_one(
    settings_for: Any, vhost: RabbitVhost
) -> None:
    """A batch's events are one outbox entry; a failed publish of any of them retries the whole entry (the others
    arrive twice, which consumers absorb), and the entry is marked sent once all of them are confirmed."""
    settings = settings_for("registration")
    tap = f"{settings.namespace}.tap"
    async with bus(settings) as b:
        await tap_events(b.broker, name=tap)
        outbox = Outbox(b.db, "sciweek/registration")
        items: list[tuple[Any, str | None]] = [(venue(i), f"venue/v{i}") for i in range(3)]
        emitted = await in_transaction(b.mongo, lambda s: outbox.emit_all(s, items), timeout_s=5)
        entries = await b.db[OUTBOX].find().to_list()
        assert len(entries) == 1 and [e["id"] for e in entry_envelopes(entries[0])] == [e.id for e in emitted]
        failing = FailOnce(b.broker, emitted[1].id)
        relay = Relay(b.db, failing, b.settings, b.metrics)
        relay.start()
        try:
            await eventually(lambda: _none_pending(b), timeout_s=30)
        finally:
            await relay.stop()
        entry = await b.db[OUTBOX].find_one({"_id": emitted[0].id})
        assert entry is not None and entry["status"] == "sent" and entry["attempts"] == 1
        ids = [m.message_id for m in await drain(vhost.url, tap)]
        assert sorted(set(ids)) == sorted(e.id for e in emitted)  # each event arrived
        assert ids.count(emitted[1].id) == 1 and len(ids) == 5  # the failed one once, the other two twice


class FailOnce:
    """The real broker, but the first publish of one event fails (as a nack or a lost connection would)."""

    def __init__(self, broker: Any, event_id: str) -> None:
        self.broker = broker
        self.event_id = event_id
        self.failed = False

    async def publish(self, event: Envelope) -> None:
        if event.id == self.event_id and not self.failed:
            self.failed = True
            raise ConnectionError("publish failed (test)")
        await self.broker.publish(event)


async def _none_pending(b: Any) -> bool:
    return await pending(b) == 0


async def _some_sent(b: Any) -> bool:
    return await b.db[OUTBOX].count_documents({"status": "sent"}) > 0


async def test_relay_survives_connection_loss(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("registration")
    tap = f"{settings.namespace}.tap"
    async with bus(settings) as b:
        await tap_events(b.broker, name=tap)
        before = [venue_event(i) for i in range(150)]
        during = [venue_event(i) for i in range(150, 300)]
        await write_events(b, before)
        assert b.broker.connection is not None
        reconnected = asyncio.Event()
        b.broker.connection.reconnect_callbacks.add(lambda *_: reconnected.set())
        async with running_relay(b):
            await eventually(lambda: queue_depth(vhost.url, tap))
            vhost.close_connections()
            await write_events(b, during)  # written while the relay's connection is down
            await eventually(lambda: _none_pending(b), timeout_s=60)
        assert reconnected.is_set()  # the connection really was lost and came back
        ids = {m.message_id for m in await drain(vhost.url, tap)}
        assert ids >= {e.id for e in before + during}  # duplicates allowed, losses not


async def test_a_nacked_publisher_channel_is_replaced(settings_for: Any, vhost: RabbitVhost) -> None:
    """A nack (here: a full classic queue that rejects publishes at once) has the publisher channel replaced, once for
    a run of nacks; the new one publishes (what brings publishing back on a cluster whose node died, see `Broker`)."""
    settings = settings_for("registration")
    full = f"{settings.namespace}.full"
    async with bus(settings) as b:
        assert b.broker.connection is not None
        channel = await b.broker.connection.channel()
        queue = await channel.declare_queue(
            full, durable=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
        )
        await queue.bind(settings.exchange, routing_key="registration.venue.registered.v1")
        refused = b.broker.channel
        await b.broker.publish(venue_event(1))  # the queue is full now
        for i in range(2, 6):
            with pytest.raises(aio_pika.exceptions.DeliveryError):
                await b.broker.publish(venue_event(i))
        await eventually(lambda: _renewed(b), timeout_s=CHANNEL_RENEW_AFTER_S + 5)
        assert b.broker.channel is not refused and refused is not None and refused.is_closed
        assert b.broker.channels_renewed == 1
        await queue.purge()
        event = venue_event(6)
        await b.broker.publish(event)  # confirmed on the new channel
        assert [m.message_id for m in await drain(vhost.url, full)] == [event.id]


async def _renewed(b: Any) -> bool:
    return bool(b.broker.channels_renewed)


async def test_an_event_nobody_subscribes_to_is_parked_not_retried(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("registration")
    async with bus(settings) as b:
        event = venue_event(7)
        await write_events(b, [event])
        async with running_relay(b):
            await eventually(lambda: _none_pending(b))
        entry = await b.db[OUTBOX].find_one({"_id": event.id})
        assert entry is not None and entry["attempts"] == 0
        parked = await drain(vhost.url, f"{settings.namespace}.unrouted")
        assert [m.message_id for m in parked] == [event.id]


async def test_topology_declares_subscriptions_before_any_consumer_runs(settings_for: Any, vhost: RabbitVhost) -> None:
    from sciweek.cli import declare_topology

    settings = settings_for("volunteers")
    declared = await declare_topology(settings)
    assert "reporting" in declared
    async with bus(settings) as b:
        data = VenueRegistered(venue_id="v9", city_code="450100", name="场馆", org_type="university")
        event = new_event("registration.venue.registered.v1", data, source="sciweek/registration")
        await write_events(b, [event])
        async with running_relay(b):
            await eventually(lambda: _none_pending(b))
    waiting = await drain(vhost.url, f"{settings.namespace}.reporting")  # reporting has never run
    assert [m.message_id for m in waiting] == [event.id]


async def test_topology_wait_sees_what_the_job_declares(settings_for: Any) -> None:
    from sciweek.cli import declare_topology, missing_topology

    settings = settings_for("registration")  # a fresh namespace: nothing declared yet
    assert await missing_topology(settings) == [settings.exchange, f"{settings.namespace}.reporting"]
    await declare_topology(settings)
    assert await missing_topology(settings) == []


async def test_two_replicas_publish_each_entry_once(settings_for: Any, vhost: RabbitVhost) -> None:
    settings = settings_for("registration")
    tap = f"{settings.namespace}.tap"
    async with bus(settings) as first, bus(settings) as second:
        await tap_events(first.broker, name=tap)
        events = [venue_event(i) for i in range(200)]
        relays = [Relay(b.db, b.broker, settings, b.metrics) for b in (first, second)]
        for relay in relays:
            relay.start()
        await write_events(first, events[:100])
        await eventually(lambda: _some_sent(first))  # one relay is publishing when the second half is written
        await write_events(second, events[100:])
        await eventually(lambda: _none_pending(first), timeout_s=30)
        for relay in relays:
            await relay.stop()
        ids = [m.message_id for m in await drain(vhost.url, tap)]
        assert sorted(ids) == sorted(e.id for e in events)  # every entry, none twice
