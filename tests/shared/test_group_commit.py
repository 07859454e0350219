"""Group commit: concurrent requests' writes share one transaction, and one member's refusal fails no other."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import nullcontext

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.group_commit import GroupCommit, Writes
from shared.mongo import Document, connect_mongo


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
