"""Test wiring of the shared backbone on its own: a broker, a relay, a consumer with chosen handlers."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aio_pika
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.envelope import Envelope
from shared.idempotency import Handler, Inbox, Route
from shared.messaging import Broker, Consumer
from shared.metrics import Metrics
from shared.mongo import Document, connect_mongo, in_transaction
from shared.outbox import Relay, add_to_outbox
from shared.settings import Settings


@dataclass
class Bus:
    settings: Settings
    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    broker: Broker
    metrics: Metrics


@asynccontextmanager
async def bus(settings: Settings) -> AsyncIterator[Bus]:
    mongo = connect_mongo(settings.mongodb_url)
    broker = Broker(settings)
    await broker.connect()
    try:
        yield Bus(settings, mongo, mongo[settings.mongodb_db], broker, Metrics(settings.service))
    finally:
        await broker.close()
        await mongo.close()


@asynccontextmanager
async def running_relay(b: Bus) -> AsyncIterator[Relay]:
    relay = Relay(b.db, b.broker, b.settings, b.metrics)
    relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


@asynccontextmanager
async def running_consumer(b: Bus, routes: Mapping[str, Route]) -> AsyncIterator[Consumer]:
    consumer = Consumer(b.broker, routes, Inbox(b.mongo, b.db, b.settings.transaction_deadline_s), b.metrics)
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def write_events(b: Bus, events: list[Envelope]) -> None:
    async def txn(session):  # type: ignore[no-untyped-def]
        for event in events:
            await add_to_outbox(b.db, session, event)

    await in_transaction(b.mongo, txn, timeout_s=b.settings.transaction_deadline_s)


async def drain(amqp_url: str, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message now in `queue` (acked), read over a connection of its own."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)
        messages = []
        while (message := await q.get(no_ack=True, fail=False)) is not None:
            messages.append(message)
        return messages
    finally:
        await connection.close()


async def queue_depth(amqp_url: str, queue: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)
        return int(q.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def count_venue(db: AsyncDatabase[Document], session: Any, event: Envelope, data: Any) -> None:
    """A minimal projection: how many times each venue's registration was applied."""
    await db["counts"].update_one({"_id": data.venue_id}, {"$inc": {"n": 1}}, upsert=True, session=session)


VENUE_ROUTES: dict[str, Handler] = {"registration.venue.registered.v1": count_venue}
