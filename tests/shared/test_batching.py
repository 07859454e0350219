"""Batched work: concurrent requests' writes share one transaction (one member's refusal failing no other), and
their Idempotency-Key look-ups share one read."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import nullcontext
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, InvalidOperation

from shared.group_commit import GroupCommit, Writes
from shared.idempotency import IDEMPOTENCY, PriorAnswers, record
from shared.mongo import Document, connect_mongo, database_unavailable


@pytest.fixture
async def db(mongodb_url: str, namespace: str) -> AsyncIterator[AsyncDatabase[Document]]:
    mongo = connect_mongo(mongodb_url)
    try:
        yield mongo[f"{namespace}_group"]
    finally:
        await mongo.drop_database(f"{namespace}_group")
        await mongo.close()


def booking(n: int, phone: str) -> Writes:
    writes = Writes()
    writes.update("days", {"_id": phone, "count": {"$lt": 2}}, {"$inc": {"count": 1}}, upsert=True)  # cap of 2
    writes.insert("bookings", {"_id": f"b{n}", "phone": phone})
    writes.then_update("seats", {"_id": "s"}, {"$unset": {f"holds.b{n}": ""}})
    return writes


async def test_concurrent_writes_share_transactions_and_a_refusal_stays_with_its_request(
    db: AsyncDatabase[Document],
) -> None:
    await db["seats"].insert_one({"_id": "s", "holds": {f"b{n}": 1 for n in range(40)}})
    group = GroupCommit(db.client, db, nullcontext, timeout_s=10)
    phones = [f"p{n % 10}" for n in range(30)]  # three bookings per phone: the third of each is over the cap
    outcomes = await asyncio.gather(
        *(group.commit(booking(n, p)) for n, p in enumerate(phones)), return_exceptions=True
    )

    refused = [n for n, outcome in enumerate(outcomes) if outcome is not None]
    assert all(isinstance(outcomes[n], DuplicateKeyError) for n in refused)
    assert len(refused) == 10  # one per phone, whichever came third, and nobody else
    booked = {d["_id"] async for d in db["bookings"].find()}
    assert booked == {f"b{n}" for n in range(30) if n not in refused}
    assert {d["_id"]: d["count"] async for d in db["days"].find()} == {f"p{n}": 2 for n in range(10)}
    holds = (await db["seats"].find_one({"_id": "s"}) or {})["holds"]
    assert set(holds) == {f"b{n}" for n in refused} | {f"b{n}" for n in range(30, 40)}  # settled once committed
    assert 1 <= group.groups < 30  # requests waiting together committed together


async def test_a_lone_request_commits_statement_by_statement(db: AsyncDatabase[Document]) -> None:
    group = GroupCommit(db.client, db, nullcontext, timeout_s=10)
    await group.commit(booking(1, "p"))
    assert await db["bookings"].count_documents({}) == 1 and group.groups == 0
    with pytest.raises(DuplicateKeyError):
        await group.commit(booking(1, "p"))  # the same booking again: nothing of it is written twice
    assert (await db["days"].find_one({"_id": "p"}) or {})["count"] == 1


class CountedCommit(GroupCommit):
    attempts = 0

    async def _write(self, session: Any, *, writes: Writes) -> None:
        self.attempts += 1
        await super()._write(session, writes=writes)


async def test_a_database_outage_fails_a_group_at_once_not_in_halves() -> None:
    unreachable = connect_mongo("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300")  # nothing listens there
    try:
        group = CountedCommit(unreachable, unreachable["nowhere"], nullcontext, timeout_s=10)
        outcomes = await asyncio.gather(*(group.commit(booking(n, f"p{n}")) for n in range(8)), return_exceptions=True)
    finally:
        await unreachable.close()
    assert all(isinstance(o, Exception) and database_unavailable(o) for o in outcomes)  # each answers 503
    assert group.attempts == 1  # not 1 + 2 + 4 + 8 transactions, each waiting for the database


class CountedAnswers(PriorAnswers):
    reads = 0

    async def _read(self, keys: list[str]) -> list[dict[str, Any] | BaseException | None]:
        self.reads += 1
        return await super()._read(keys)


async def test_concurrent_look_ups_of_idempotency_keys_share_reads(db: AsyncDatabase[Document]) -> None:
    await db[IDEMPOTENCY].insert_many([record(f"k{i}", "f", {"n": i}) for i in range(0, 40, 2)])
    answers = CountedAnswers(db, timeout_s=10)
    found = await asyncio.gather(*(answers.get(f"k{i % 40}") for i in range(80)))  # each key asked twice
    assert [(a or {}).get("body") for a in found] == [{"n": i % 40} if i % 2 == 0 else None for i in range(80)]
    assert 1 <= answers.reads < 80
    assert await answers.get("k2") is not None and await answers.get("k3") is None  # alone: at once


async def test_a_failed_read_fails_each_look_up_of_its_batch(mongodb_url: str) -> None:
    mongo = connect_mongo(mongodb_url)
    answers = PriorAnswers(mongo["unused"], timeout_s=5)
    await mongo.close()  # every read now fails
    outcomes = await asyncio.gather(*(answers.get(f"k{i}") for i in range(5)), return_exceptions=True)
    assert all(isinstance(o, InvalidOperation) for o in outcomes)
