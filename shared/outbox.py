"""The transactional outbox and its relay.

A use case writes its state change and `add_to_outbox(...)` in one transaction. The relay (only the
replica holding the lease) publishes due entries with confirms and marks them sent. A failed publish is
retried with backoff; a timed-out publish counts as failed too and may duplicate, which consumers absorb.
"""

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pymongo
from pydantic import BaseModel
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.contracts import event_type_of
from shared.envelope import Envelope, new_event
from shared.metrics import Metrics
from shared.mongo import Document, Session
from shared.settings import Settings

log = logging.getLogger(__name__)

OUTBOX = "outbox"
LEASES = "leases"
SENT_RETENTION_S = 7 * 24 * 3600
MAX_BACKOFF_S = 10.0


class Publisher(Protocol):
    async def publish(self, event: Envelope) -> None: ...


class Outbox:
    """The one way a service emits an event: a contract object, written in the caller's transaction."""

    def __init__(self, db: AsyncDatabase[Document], source: str) -> None:
        self.db = db
        self.source = source

    def new(self, data: BaseModel, *, subject: str | None = None) -> Envelope:
        """An event of this service whose payload is `data` (its type comes from its contract), not yet recorded: for
        a use case that describes its writes (`Writes.events` of `uow.commit_writes`)."""
        return new_event(event_type_of(data), data, source=self.source, subject=subject)

    async def emit(self, session: Session, data: BaseModel, *, subject: str | None = None) -> Envelope:
        """Record the event whose payload is `data` for the relay, in the caller's transaction."""
        event = self.new(data, subject=subject)
        await add_to_outbox(self.db, session, event)
        return event

    async def emit_all(self, session: Session, items: list[tuple[BaseModel, str | None]]) -> list[Envelope]:
        """`emit` for each (data, subject) in order, recorded as one entry (a batch of work, one document)."""
        events = [self.new(data, subject=subject) for data, subject in items]
        if events:
            await self.db[OUTBOX].insert_one(outbox_entry(events), session=session)
        return events


async def add_to_outbox(db: AsyncDatabase[Document], session: Session, event: Envelope) -> None:
    """Record `event` for publishing, inside the caller's transaction."""
    await db[OUTBOX].insert_one(outbox_entry([event]), session=session)


def outbox_entry(events: list[Envelope]) -> dict[str, Any]:
    """One entry for events committed together, under the first one's id and time.

    A document costs the database more than its size: a batch of events is one entry to write and one to mark
    sent. One event keeps `type` and `envelope`; several have `type` as the list of their types (a query on a type
    still finds the entry) and `envelopes`. `entry_envelopes` reads both.
    """
    first = events[0]
    entry = {"_id": first.id, "status": "pending", "created_at": first.time, "due_at": first.time, "attempts": 0}
    if len(events) == 1:
        return {**entry, "type": first.type, "envelope": first.model_dump(mode="json")}
    return {**entry, "type": [e.type for e in events], "envelopes": [e.model_dump(mode="json") for e in events]}


def entry_envelopes(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of an outbox entry, in the order they were emitted."""
    return list(entry["envelopes"]) if "envelopes" in entry else [entry["envelope"]]


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    """Indexes the relay's queries need; sent entries expire after a week."""
    await db[OUTBOX].create_index([("status", ASCENDING), ("created_at", ASCENDING)])
    await db[OUTBOX].create_index("sent_at", expireAfterSeconds=SENT_RETENTION_S)


def backoff_s(attempts: int) -> float:
    """Delay before the next try of an entry that failed `attempts` times."""
    return float(min(MAX_BACKOFF_S, 0.25 * 2 ** max(0, attempts - 1)))


class Relay:
    """Publishes pending outbox entries; one replica at a time holds the lease."""

    def __init__(self, db: AsyncDatabase[Document], publisher: Publisher, settings: Settings, metrics: Metrics) -> None:
        self.db = db
        self.publisher = publisher
        self.settings = settings
        self.metrics = metrics
        self.owner = f"{settings.service}-{uuid.uuid4()}"
        self._wake = asyncio.Event()
        self._renew_after = 0.0  # monotonic time after which the lease is renewed (half its length)
        self._gauges_after = 0.0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"relay-{self.settings.service}")

    def wake(self) -> None:
        """Publish now rather than at the next poll (called after a commit that wrote an entry)."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self._release_lease()

    async def _run(self) -> None:
        while not self._stopping:
            busy = False
            try:
                # a round never waits on the database longer than a transaction may (a frozen server, a held record)
                with pymongo.timeout(self.settings.transaction_deadline_s):
                    if await self._hold_lease():
                        busy = await self.publish_due() >= self.settings.relay_batch
                    if time.monotonic() >= self._gauges_after:
                        await self._update_gauges()
                        self._gauges_after = time.monotonic() + 1.0
            except PyMongoError as exc:
                log.warning("relay cannot reach MongoDB: %r", exc)
            if not busy:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.settings.relay_poll_s)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def _hold_lease(self) -> bool:
        if time.monotonic() < self._renew_after:
            return True
        now = datetime.now(UTC)
        try:
            await self.db[LEASES].update_one(
                {"_id": "outbox-relay", "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "until": now + timedelta(seconds=self.settings.relay_lease_s)}},
                upsert=True,
            )
        except DuplicateKeyError:  # the document exists and another live replica owns it
            return False
        self._renew_after = time.monotonic() + self.settings.relay_lease_s / 2
        return True

    async def _release_lease(self) -> None:
        try:
            await self.db[LEASES].delete_one({"_id": "outbox-relay", "owner": self.owner})
        except PyMongoError as exc:
            log.warning("could not release the relay lease: %r", exc)

    async def publish_due(self) -> int:
        """Publish one batch of due entries; returns how many were tried."""
        now = datetime.now(UTC)
        entries = (
            await self.db[OUTBOX]
            .find(
                {"status": "pending", "due_at": {"$lte": now}},
                sort=[("created_at", ASCENDING)],
                limit=self.settings.relay_batch,
            )
            .to_list()
        )
        if not entries:
            return 0
        batches = [[Envelope.model_validate(e) for e in entry_envelopes(entry)] for entry in entries]
        events = [event for batch in batches for event in batch]
        results = await asyncio.gather(*(self.publisher.publish(e) for e in events), return_exceptions=True)
        done = datetime.now(UTC)
        retries, sent = [], []
        start = 0
        for entry, batch in zip(entries, batches, strict=True):
            outcomes, start = results[start : start + len(batch)], start + len(batch)
            failed = None
            for event, result in zip(batch, outcomes, strict=True):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                if isinstance(result, BaseException):
                    self.metrics.publish_failures.labels(type=event.type).inc()
                    failed = failed or (event, result)
                else:
                    self.metrics.published.labels(type=event.type).inc()
            if failed is None:
                sent.append(entry["_id"])
                continue
            # the whole entry is tried again: events of it already published arrive twice, which consumers absorb
            event, error = failed
            attempts = entry["attempts"] + 1
            log.warning(
                "publish of %s (%s, correlation %s) failed, attempt %d: %r",
                event.id,
                event.type,
                event.correlation_id,
                attempts,
                error,
            )
            again = {"attempts": attempts, "last_error": repr(error)[:500]}
            again["due_at"] = done + timedelta(seconds=backoff_s(attempts))
            retries.append(UpdateOne({"_id": entry["_id"]}, {"$set": again}))
        if sent:  # one statement for the batch (a statement costs the database more than a document in it)
            marked = {"$set": {"status": "sent", "sent_at": done}, "$unset": {"due_at": ""}}
            await self.db[OUTBOX].update_many({"_id": {"$in": sent}}, marked)
        if retries:
            await self.db[OUTBOX].bulk_write(retries, ordered=False)
        return len(entries)

    async def _update_gauges(self) -> None:
        pending = await self.db[OUTBOX].count_documents({"status": "pending"})
        self.metrics.outbox_pending.set(pending)
        oldest = await self.db[OUTBOX].find_one({"status": "pending"}, sort=[("created_at", ASCENDING)])
        age = (datetime.now(UTC) - oldest["created_at"]).total_seconds() if oldest else 0.0
        self.metrics.outbox_oldest_age.set(age)
