"""Exactly-once effects: the consumer inbox, and Idempotency-Key replays for HTTP writes.

Both work the same way: the record "this was done" is written in the same transaction as the effect,
under a unique key, so a retry finds the record instead of doing the work twice.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.batching import Batcher
from shared.envelope import Envelope
from shared.mongo import Document, Session, in_transaction
from shared.rules import RuleViolation

INBOX = "inbox"
IDEMPOTENCY = "idempotency_keys"
IDEMPOTENCY_TTL_S = 14 * 24 * 3600  # a phone may stay offline for days before it retries

Handler = Callable[[AsyncDatabase[Document], Session, Envelope, Any], Awaitable[None]]
BatchHandler = Callable[[AsyncDatabase[Document], Session, list[tuple[Envelope, Any]]], Awaitable[None]]
# runs the effects of the fresh events of a batch, given their positions in it
BatchEffect = Callable[[Session, list[int]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A route whose handler takes the fresh events of a delivery batch at once (in order, in one transaction),
    so that it can read and write each document once per batch rather than once per event."""

    handler: BatchHandler


Route = Handler | Batched


class Inbox:
    """The events this service has applied, each stored whole (an event log that projections replay)."""

    def __init__(self, client: AsyncMongoClient[Document], db: AsyncDatabase[Document], timeout_s: float) -> None:
        self.client = client
        self.db = db
        self.timeout_s = timeout_s  # one batch's transaction, retries included

    async def apply_batch(self, events: list[Envelope], effect: BatchEffect) -> list[bool]:
        """Record each event not yet recorded and run `effect` on those, all in one transaction; which were new."""

        async def txn(session: Session) -> list[bool]:
            keys = [event.dedup_key for event in events]
            inbox = self.db[INBOX]
            seen = {d["_id"] async for d in inbox.find({"_id": {"$in": keys}}, {"_id": 1}, session=session)}
            fresh: list[bool] = []
            for key in keys:
                fresh.append(key not in seen)
                seen.add(key)  # the same event twice in one batch applies once
            now = datetime.now(UTC)
            records = [_inbox_record(event, now) for event, new in zip(events, fresh, strict=True) if new]
            if records:
                await inbox.insert_many(records, session=session)
            await effect(session, [i for i, new in enumerate(fresh) if new])
            return fresh

        try:
            return await in_transaction(self.client, txn, timeout_s=self.timeout_s)
        except DuplicateKeyError as exc:
            if INBOX in str(exc) and len(events) == 1:  # another replica applied it between our read and insert
                return [False]
            raise


def scoped_key(caller: str, action: str, key: str | None) -> str | None:
    """An Idempotency-Key scoped to its caller and action, so two callers' keys never meet (None without a key)."""
    return f"{caller}:{action}:{key}" if key else None


def json_safe(value: Any) -> Any:
    """Datetimes as ISO text: views are stored as Idempotency-Key replies and sent as JSON."""
    return value.isoformat() if isinstance(value, datetime) else value


def request_fingerprint(body: Any) -> str:
    """A stable hash of a request body, to tell a replay from a reused key."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def run_idempotent(
    client: AsyncMongoClient[Document],
    db: AsyncDatabase[Document],
    key: str | None,
    fingerprint: str,
    effect: Callable[[Session], Awaitable[dict[str, Any]]],
    *,
    timeout_s: float,
) -> dict[str, Any]:
    """Run `effect` once per key: a replay with the same body returns the first result, another body is 422.

    `key` must already be scoped to the caller (e.g. "<sub>:<route>:<Idempotency-Key>").
    """
    if key is None:
        return await in_transaction(client, effect, timeout_s=timeout_s)

    async def txn(session: Session) -> dict[str, Any]:
        prior = await db[IDEMPOTENCY].find_one({"_id": key}, session=session)
        if prior is not None:
            if prior["fingerprint"] != fingerprint:
                raise RuleViolation(
                    "idempotency_key_reused",
                    "幂等键已用于不同的请求 / Idempotency-Key reused with a different request body",
                    "invalid",
                )
            return dict(prior["body"])
        body = await effect(session)
        await db[IDEMPOTENCY].insert_one(record(key, fingerprint, body), session=session)
        return body

    try:
        return await in_transaction(client, txn, timeout_s=timeout_s)
    except DuplicateKeyError:  # a concurrent retry with the same key committed first: replay its answer
        return await in_transaction(client, txn, timeout_s=timeout_s)


class PriorAnswers:
    """The first answers kept under Idempotency-Keys, looked up for concurrent requests together: one `$in` read for
    the keys asked while the previous read was in flight (a spike's refusals each ask whether theirs answered before).
    """

    def __init__(self, db: AsyncDatabase[Document], timeout_s: float) -> None:
        self.db = db
        self.timeout_s = timeout_s
        self.batcher: Batcher[str, dict[str, Any] | None] = Batcher(self._read)

    async def get(self, key: str) -> dict[str, Any] | None:
        """The record kept under `key` (`record`'s shape), or None for a key not used before."""
        return await self.batcher.submit(key)

    async def _read(self, keys: list[str]) -> list[dict[str, Any] | BaseException | None]:
        with pymongo.timeout(self.timeout_s):
            found = {d["_id"]: d async for d in self.db[IDEMPOTENCY].find({"_id": {"$in": list(set(keys))}})}
        return [found.get(key) for key in keys]


def record(key: str, fingerprint: str, body: dict[str, Any]) -> dict[str, Any]:
    """What a key keeps: the request's fingerprint and its first answer (`_id` unique: a key is used once)."""
    return {"_id": key, "fingerprint": fingerprint, "body": body, "created_at": datetime.now(UTC)}


def _inbox_record(event: Envelope, received_at: datetime) -> dict[str, Any]:
    return {
        "_id": event.dedup_key,
        "type": event.type,
        "time": event.time,
        "received_at": received_at,
        "event": event.model_dump(mode="json"),
    }


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    """Indexes of the inbox and the idempotency keys."""
    await db[INBOX].create_index([("time", ASCENDING)])
    await db[IDEMPOTENCY].create_index("created_at", expireAfterSeconds=IDEMPOTENCY_TTL_S)
