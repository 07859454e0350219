"""RabbitMQ: the connection, the topology, publishing with confirms, and the consumer.

Field notes this follows: messages are persistent; connection, channels and queues are held for the
process's lifetime (RobustConnection only keeps weak references); publishes are mandatory with returns
raising; retries go back through the default exchange to one queue, never through the topic exchange.
"""

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, DeliveryError, PublishError
from aio_pika.robust_connection import RobustConnection
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential
from yarl import URL

from shared.contracts import UnknownEventType, validate_data
from shared.envelope import Envelope, causation_id_var, correlation_id_var
from shared.idempotency import Batched, Inbox, Route
from shared.metrics import Metrics
from shared.mongo import Session, database_unavailable, raise_if_cancelled
from shared.settings import Settings

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-sciweek-attempt"
CONNECT_TIMEOUT_S = 10.0  # one node's TCP connect and AMQP handshake: a wedged node must not hold up the next
# A channel whose publishes are nacked is replaced by a new one, but not before it is this old: a cluster needs a
# moment after a node's death to elect new quorum queue leaders (see Broker).
CHANNEL_RENEW_AFTER_S = 1.0


def persistent_message(body: bytes, **properties: Any) -> aio_pika.Message:
    """The one way we build an AMQP message: persistent (transient ones die with the broker, FIELD-NOTES)."""
    return aio_pika.Message(body=body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **properties)


def event_message(event: Envelope) -> aio_pika.Message:
    """The AMQP message carrying `event`: message_id = event id."""
    return persistent_message(
        event.model_dump_json().encode(),
        content_type="application/json",
        message_id=event.id,
        correlation_id=event.correlation_id,
        type=event.type,
        app_id=event.source,
        timestamp=event.time,
    )


class NodeListConnection(RobustConnection):
    """A robust connection to the first of several broker nodes that answers, tried in order on every (re)connect.

    aio-pika's RobustConnection reconnects to its one URL; each of its attempts goes through the method replaced
    here, which walks the list (a cluster's nodes), so a node that died is left for the next one that answers.
    Channels, queues and consumers are restored on whichever node it reaches, as after any reconnect.
    """

    _attempt = getattr(RobustConnection, "_RobustConnection__connect_transport")  # noqa: B009 (a mangled name)

    def __init__(self, nodes: list[str], **kwargs: Any) -> None:
        self.nodes = [URL(node) for node in nodes]
        super().__init__(self.nodes[0], **kwargs)

    async def _RobustConnection__connect_transport(self) -> None:
        failure: BaseException | None = None
        for node in self.nodes:
            self.url = node
            try:
                await self._attempt()
                return
            except CONNECTION_EXCEPTIONS as exc:
                log.warning("broker node %s did not answer: %r", self, exc)
                failure = exc
        assert failure is not None
        raise failure


async def connect_first(settings: Settings) -> AbstractConnection:
    """A plain connection to the first node of AMQP_URL that answers (one-shot commands such as the topology)."""
    failure: BaseException | None = None
    for node in settings.amqp_urls:
        try:
            return await aio_pika.connect(node, timeout=CONNECT_TIMEOUT_S)
        except CONNECTION_EXCEPTIONS as exc:
            failure = exc
    assert failure is not None
    raise failure


class Broker:
    """One robust connection, a confirming publisher channel and the events exchange.

    The publisher channel is replaced when the broker nacks a publish on it. RabbitMQ 3.10 keeps, per channel and
    quorum queue, a client that on the channel's first publish to that queue registers with the node its record
    names as leader; when that node has just died (a reconnect to the next node is faster than the election of a
    new leader), the registration fails and every later publish on that channel to that queue is nacked, for as long
    as the channel lives. A new channel, opened once the cluster has elected new leaders, publishes again.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection: AbstractRobustConnection | None = None
        self.channel: AbstractChannel | None = None
        self.exchange: AbstractExchange | None = None
        self.ready = asyncio.Event()
        self.channels_renewed = 0
        self._channel_opened = 0.0  # monotonic
        self._renewal: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Connect, retrying with backoff until the broker answers (connect_robust fails fast at start-up)."""
        async for attempt in AsyncRetrying(
            wait=wait_exponential(multiplier=0.2, max=5), retry=retry_if_exception_type(OSError)
        ):
            with attempt:
                connection = NodeListConnection(
                    self.settings.amqp_urls,
                    client_properties={"connection_name": f"sciweek-{self.settings.service}"},
                    reconnect_interval=1.0,
                )
                await connection.connect(timeout=CONNECT_TIMEOUT_S)
                self.connection = connection
        assert self.connection is not None
        self.channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        self.exchange = await declare_exchange(self.channel, self.settings)
        self._channel_opened = time.monotonic()
        self.connection.reconnect_callbacks.add(self._reconnected)
        self.ready.set()

    def _reconnected(self, *_: Any) -> None:
        self._channel_opened = time.monotonic()  # the robust connection has just reopened the channel

    @property
    def connected(self) -> bool:
        return self.connection is not None and not self.connection.is_closed and self.connection.connected.is_set()

    async def publish(self, event: Envelope) -> None:
        """Publish and wait for the broker's confirm; raises on nack, outage or timeout (or no route, should the
        parking exchange be missing). A nack also has the channel replaced (see the class)."""
        await self.publish_message(event_message(event), routing_key=event.type, mandatory=True)

    async def publish_message(
        self, message: aio_pika.Message, routing_key: str, *, mandatory: bool, default_exchange: bool = False
    ) -> None:
        """Publish `message` on the publisher channel (to the events exchange, or the default exchange: one queue)
        and wait for the confirm."""
        channel, exchange = self.channel, self.exchange
        if channel is None or exchange is None:
            raise ConnectionError("broker not connected yet")
        target = channel.default_exchange if default_exchange else exchange
        try:
            timeout = self.settings.publish_timeout_s
            await target.publish(message, routing_key=routing_key, mandatory=mandatory, timeout=timeout)
        except DeliveryError as exc:
            if not isinstance(exc, PublishError):  # a nack (a return, PublishError, says no queue is bound)
                self._renew_channel(channel)
            raise

    def _renew_channel(self, refused: AbstractChannel) -> None:
        if refused is not self.channel or (self._renewal is not None and not self._renewal.done()):
            return
        self._renewal = asyncio.create_task(self._renew(refused), name=f"renew-channel-{self.settings.service}")

    async def _renew(self, refused: AbstractChannel) -> None:
        # not sooner than CHANNEL_RENEW_AFTER_S after the refusing channel was (re)opened: opened during the
        # election, the new channel could be stuck the same way
        await asyncio.sleep(max(0.0, self._channel_opened + CHANNEL_RENEW_AFTER_S - time.monotonic()))
        if refused is not self.channel or self.connection is None:
            return
        try:
            channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await channel.get_exchange(self.settings.exchange, ensure=False)
        except (*CONNECTION_EXCEPTIONS, RuntimeError, TimeoutError) as exc:  # the next nack tries again
            log.warning("could not open a new publisher channel: %r", exc)
            return
        self.channel, self.exchange, self._channel_opened = channel, exchange, time.monotonic()
        self.channels_renewed += 1
        log.warning("the broker nacked publishes on the publisher channel: publishing on a new one")
        # publishes still in flight on the old channel fail with it; the outbox retries them (consumers deduplicate)
        with contextlib.suppress(Exception):
            await refused.close()

    async def consumer_count(self, queue: str) -> int:
        """How many consumers the broker sees on `queue` (a passive declare on a short-lived channel)."""
        if self.connection is None:
            return 0
        channel = await self.connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
            result = declared.declaration_result
            return int(result.consumer_count or 0)
        finally:
            await channel.close()

    async def close(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            await asyncio.gather(self._renewal, return_exceptions=True)
        if self.connection is not None:
            await self.connection.close()


async def declare_exchange(channel: AbstractChannel, settings: Settings) -> AbstractExchange:
    """The events exchange. Events no queue is bound to are parked in `<namespace>.unrouted`, not dropped.

    Consumer queues are declared before traffic (`sciweek topology`, and by each consumer at start), so
    an event lands there only when no service subscribes to its type.
    """
    unrouted = f"{settings.namespace}.unrouted"
    parking = await channel.declare_exchange(unrouted, aio_pika.ExchangeType.FANOUT, durable=True)
    bounded = {**quorum_arguments(settings), "x-max-length": 100_000, "x-overflow": "drop-head"}
    queue = await channel.declare_queue(unrouted, durable=True, arguments=bounded)
    await queue.bind(parking)
    return await channel.declare_exchange(
        settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True, arguments={"alternate-exchange": unrouted}
    )


async def declare_subscriptions(
    channel: AbstractChannel, settings: Settings, event_types: Iterable[str]
) -> AbstractQueue:
    """The service's main, retry and dead-letter queues; the main one bound to exactly `event_types`."""
    queues = {}
    for name, arguments in queue_arguments(settings).items():
        queues[name] = await channel.declare_queue(name, durable=True, arguments=arguments)
    main = queues[settings.queue]
    for event_type in event_types:
        await main.bind(settings.exchange, routing_key=event_type)
    return main


def quorum_arguments(settings: Settings) -> dict[str, Any]:
    """A quorum queue, with as many members as SCIWEEK_QUORUM_INITIAL_GROUP_SIZE asks (else the broker's default).

    The broker compares the group size on every later declaration (PRECONDITION_FAILED if it differs): set it
    before the queues are first declared.
    """
    size = settings.quorum_initial_group_size
    return {"x-queue-type": "quorum", **({"x-quorum-initial-group-size": size} if size else {})}


def queue_arguments(settings: Settings) -> dict[str, dict[str, Any]]:
    """Arguments of the consumer's main, retry and dead-letter queues (all quorum, all durable)."""
    q = settings.queue
    quorum = quorum_arguments(settings)
    return {
        q: {
            **quorum,
            "x-delivery-limit": settings.delivery_limit,  # a message that keeps crashing the consumer
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": f"{q}.dlq",
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
        f"{q}.retry": {
            **quorum,
            "x-message-ttl": settings.retry_delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": q,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
        f"{q}.dlq": quorum,
    }


class PermanentError(Exception):
    """A handler's failure that retrying cannot fix: the event goes straight to the dead-letter queue."""


@dataclass(frozen=True)
class Delivery:
    """A decoded, validated message and the route that applies it."""

    message: AbstractIncomingMessage
    event: Envelope
    data: Any
    route: Route


class Consumer:
    """Consumes the service's queue: decode, validate, apply exactly once, then ack.

    One worker applies deliveries in order of arrival (prefetch only pipelines them): projections update
    hot documents, and concurrent transactions on those conflict and spin. Deliveries that queue up while
    a transaction runs are applied together in the next one (one inbox check, one commit, and one call of
    a `Batched` route's handler for a run of its events); if that batch fails, each is applied on its own
    so that only the failing one is retried or dead-lettered.
    """

    def __init__(self, broker: Broker, routes: Mapping[str, Route], inbox: Inbox, metrics: Metrics) -> None:
        self.broker = broker
        self.settings = broker.settings
        self.routes = routes
        self.inbox = inbox
        self.metrics = metrics
        self.channel: AbstractChannel | None = None
        self.queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._pending: list[AbstractIncomingMessage] = []
        self._arrived = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Declare the queues, bind exactly the routed event types, and start consuming."""
        assert self.broker.connection is not None and self.broker.exchange is not None
        # this channel consumes; copies to the retry and dead-letter queues go out on the broker's publisher channel
        self.channel = await self.broker.connection.channel()
        await self.channel.set_qos(prefetch_count=self.settings.prefetch)
        self.queue = await declare_subscriptions(self.channel, self.settings, self.routes)
        self._worker = asyncio.create_task(self._work(), name=f"consumer-{self.settings.service}")
        self._tag = await self.queue.consume(self._on_message)

    @property
    def waiting(self) -> int:
        """Deliveries received and not yet taken up by the worker (its next batch takes them together)."""
        return len(self._pending)

    @property
    def idle(self) -> bool:
        """Whether every delivery received so far has been handled (applied, retried or dead-lettered)."""
        return self._idle.is_set()

    async def stop(self) -> None:
        """Stop new deliveries, let those received finish (bounded), then close: the rest return to the queue."""
        if self.queue is not None and self._tag is not None:
            await self.queue.cancel(self._tag)
        try:
            await asyncio.wait_for(self._idle.wait(), self.settings.shutdown_grace_s)
        except TimeoutError:
            log.warning("shutdown with %d deliveries unapplied; they return to the queue", len(self._pending))
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self.channel is not None:
            await self.channel.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self._pending.append(message)
        self._idle.clear()
        self._arrived.set()

    async def _work(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._pending:
                batch = self._pending[: self.settings.consume_batch]
                del self._pending[: len(batch)]
                try:
                    await self._process(batch)
                except Exception:  # e.g. the channel died mid-ack: the broker redelivers what was not acked
                    log.exception(
                        "consumer batch of %d interrupted; unacked deliveries will be redelivered", len(batch)
                    )
                raise_if_cancelled()  # stop() cancels the worker; a cancel pymongo swallowed must still end it
            self._idle.set()

    async def _process(self, batch: list[AbstractIncomingMessage]) -> None:
        deliveries = [d for d in [await self._decode(m) for m in batch] if d is not None]
        if len(deliveries) > 1:
            try:
                applied = await self._apply(deliveries)
            except Exception as exc:
                log.warning("batch of %d failed (%r); applying one by one", len(deliveries), exc)
            else:
                for delivery, was_applied in zip(deliveries, applied, strict=True):
                    await self._done(delivery, was_applied)
                return
        for delivery in deliveries:
            await self._apply_one(delivery)

    async def _decode(self, message: AbstractIncomingMessage) -> Delivery | None:
        try:
            event = Envelope.model_validate_json(message.body)
            data = validate_data(event.type, event.data)
            route = self.routes.get(event.type)
            if route is None:
                raise UnknownEventType(event.type)
        except (ValidationError, UnknownEventType, ValueError) as exc:
            await self._dead_letter(message, message.type or "unknown", "invalid", repr(exc))
            return None
        return Delivery(message, event, data, route)

    async def _apply(self, deliveries: list[Delivery]) -> list[bool]:
        """Apply the deliveries not applied before, in order, in one transaction; which ones were new."""

        async def effect(session: Session, fresh: list[int]) -> None:
            # consecutive deliveries of one batched route go to its handler together
            for route, run in itertools.groupby((deliveries[i] for i in fresh), key=lambda d: d.route):
                if isinstance(route, Batched):
                    await route.handler(self.inbox.db, session, [(d.event, d.data) for d in run])
                    continue
                for d in run:
                    # events this handler writes to the outbox carry the cause's correlation id
                    correlation = correlation_id_var.set(d.event.correlation_id)
                    causation = causation_id_var.set(d.event.id)
                    try:
                        await route(self.inbox.db, session, d.event, d.data)
                    finally:
                        correlation_id_var.reset(correlation)
                        causation_id_var.reset(causation)

        return await self.inbox.apply_batch([d.event for d in deliveries], effect)

    async def _apply_one(self, delivery: Delivery) -> None:
        try:
            [applied] = await self._apply([delivery])
        except PermanentError as exc:
            await self._dead_letter(delivery.message, delivery.event.type, "permanent", repr(exc))
            return
        except Exception as exc:
            await self._retry_or_dead_letter(delivery.message, delivery.event, exc)
            return
        await self._done(delivery, applied)

    async def _done(self, delivery: Delivery, applied: bool) -> None:
        (self.metrics.consumed if applied else self.metrics.duplicates).labels(type=delivery.event.type).inc()
        await delivery.message.ack()

    async def _retry_or_dead_letter(self, message: AbstractIncomingMessage, event: Envelope, exc: Exception) -> None:
        previous = (message.headers or {}).get(ATTEMPT_HEADER, 0)
        previous = previous if isinstance(previous, int) else 0
        # the database being away is not the event's fault: it waits in the retry queue without using up attempts
        attempt = previous if database_unavailable(exc) else previous + 1
        log.warning(
            "event %s (%s, correlation %s) failed, attempt %d: %r",
            event.id,
            event.type,
            event.correlation_id,
            attempt,
            exc,
        )
        if attempt > self.settings.max_retries:
            await self._dead_letter(message, event.type, "retries_exhausted", repr(exc))
            return
        await self._forward(message, f"{self.settings.queue}.retry", {ATTEMPT_HEADER: attempt})
        self.metrics.retried.labels(type=event.type).inc()
        await message.ack()

    async def _dead_letter(self, message: AbstractIncomingMessage, event_type: str, reason: str, error: str) -> None:
        log.error("dead-lettering message %s (%s): %s %s", message.message_id, event_type, reason, error)
        await self._forward(
            message, f"{self.settings.queue}.dlq", {"x-sciweek-reason": reason, "x-sciweek-error": error[:1000]}
        )
        self.metrics.dead_lettered.labels(type=event_type, reason=reason).inc()
        await message.ack()

    async def _forward(self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any]) -> None:
        """Copy to one queue through the default exchange (confirmed, on the broker's publisher channel), before the
        original is acked."""
        copy = persistent_message(
            message.body,
            headers={**(message.headers or {}), **headers},
            content_type=message.content_type,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            type=message.type,
            app_id=message.app_id,
            timestamp=message.timestamp,
        )
        await self.broker.publish_message(copy, routing_key=queue, mandatory=False, default_exchange=True)
