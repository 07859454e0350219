"""Group commit: the writes of requests that arrive together, committed in one transaction.

A use case that only writes describes its writes (`Writes`) instead of performing them, and hands them to
`uow.commit_writes`. The replica's `GroupCommit` commits the writes of every request waiting meanwhile in one
transaction, with one write command per collection, in arrival order, so a spike of bookings costs the database a
few statements per group rather than four per booking (on SecantusDB a statement costs far more than a document in
it: `bench/README.md`). If a group's transaction fails, its halves are committed on their own, down to single
members committed statement by statement as before: one member's refusal (a duplicate key, say) fails no other.
"""

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pymongo
from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.batching import Batcher
from shared.envelope import Envelope
from shared.mongo import Document, Session, database_unavailable, in_transaction
from shared.outbox import OUTBOX, outbox_entry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Insert:
    collection: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class Update:
    collection: str
    filter: dict[str, Any]
    update: dict[str, Any]
    upsert: bool = False


@dataclass
class Writes:
    """One request's writes, committed together (`ops`), then, best effort and outside the transaction, `afterwards`
    (tidying that a periodic job would otherwise do, such as settling a seat hold)."""

    ops: list[Insert | Update] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)  # `writes.events.append(uow.events.new(data, ...))`
    afterwards: list[Update] = field(default_factory=list)

    def insert(self, collection: str, doc: dict[str, Any]) -> None:
        self.ops.append(Insert(collection, doc))

    def update(self, collection: str, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> None:
        self.ops.append(Update(collection, filter, update, upsert))

    def then_update(self, collection: str, filter: dict[str, Any], update: dict[str, Any]) -> None:
        self.afterwards.append(Update(collection, filter, update))


def _bulk_op(op: Insert | Update) -> InsertOne[Document] | UpdateOne:
    if isinstance(op, Insert):
        return InsertOne(op.doc)
    return UpdateOne(op.filter, op.update, upsert=op.upsert)


def _by_collection(ops: list[Insert | Update]) -> dict[str, list[InsertOne[Document] | UpdateOne]]:
    grouped: dict[str, list[InsertOne[Document] | UpdateOne]] = {}
    for op in ops:
        grouped.setdefault(op.collection, []).append(_bulk_op(op))
    return grouped


class GroupCommit:
    """Commits `Writes` of concurrent requests together (a `Batcher` of them)."""

    def __init__(
        self,
        client: Any,
        db: AsyncDatabase[Document],
        slot: Callable[[], AbstractAsyncContextManager[Any]],
        timeout_s: float,
        max_group: int = 64,
    ) -> None:
        self.client = client
        self.db = db
        self.slot = slot  # the replica's transaction slot, shared with its other transactions
        self.timeout_s = timeout_s  # a request's deadline: the callers wait for their group
        self.batcher: Batcher[Writes, None] = Batcher(self._commit_batch, max_group)
        self.groups = 0  # transactions run for groups (a test reads how many requests shared one)

    async def commit(self, writes: Writes) -> None:
        """Commit `writes` (with whatever else is waiting); raises what committing them alone would raise."""
        await self.batcher.submit(writes)

    async def _commit_batch(self, members: list[Writes]) -> list[BaseException | None]:
        async with self.slot():
            with pymongo.timeout(self.timeout_s):  # the group, halves included, within one request's deadline
                outcomes = await self._commit_group(members)
        await self._tidy([writes for writes, failed in zip(members, outcomes, strict=True) if failed is None])
        return outcomes

    async def _commit_group(self, members: list[Writes]) -> list[BaseException | None]:
        """Commit `members` together; if that fails, each half on its own, down to single members, whose failure is
        theirs alone (a group with one refusal in it costs a few more transactions, not one per member)."""
        if len(members) == 1:
            try:
                await in_transaction(
                    self.client, partial(self._write_alone, writes=members[0]), timeout_s=self.timeout_s
                )
                return [None]
            except Exception as exc:
                return [exc]
        try:
            together = Writes([op for w in members for op in w.ops], [event for w in members for event in w.events])
            await in_transaction(self.client, partial(self._write, writes=together), timeout_s=self.timeout_s)
            self.groups += 1
            return [None] * len(members)
        except Exception as exc:
            if database_unavailable(exc):  # the database's trouble, not a member's: each is told at once (503)
                return [exc] * len(members)
            log.debug("a group of %d failed: committing it in halves", len(members), exc_info=True)
        half = len(members) // 2
        return await self._commit_group(members[:half]) + await self._commit_group(members[half:])

    async def _write(self, session: Session, *, writes: Writes) -> None:
        """A group's writes: one command per collection, and its events as one outbox entry."""
        for collection, bulk in _by_collection(writes.ops).items():
            await self.db[collection].bulk_write(bulk, ordered=True, session=session)
        await self._record_events(session, writes)

    async def _write_alone(self, session: Session, *, writes: Writes) -> None:
        """One request's writes statement by statement: a refusal is the driver's own error for its statement."""
        for op in writes.ops:
            if isinstance(op, Insert):
                await self.db[op.collection].insert_one(op.doc, session=session)
            else:
                await self.db[op.collection].update_one(op.filter, op.update, upsert=op.upsert, session=session)
        await self._record_events(session, writes)

    async def _record_events(self, session: Session, writes: Writes) -> None:
        if writes.events:  # committed together: one outbox entry
            await self.db[OUTBOX].insert_one(outbox_entry(writes.events), session=session)

    async def _tidy(self, members: list[Writes]) -> None:
        for collection, bulk in _by_collection([op for writes in members for op in writes.afterwards]).items():
            try:
                with pymongo.timeout(self.timeout_s):
                    await self.db[collection].bulk_write(bulk, ordered=False)
            except PyMongoError as exc:  # best effort: what stays untidied is the periodic jobs' to tidy
                log.warning("tidying after a group commit failed: %r", exc)
