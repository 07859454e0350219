"""The one way to run a transaction: bounded by a deadline; and which database errors are worth retrying."""

import asyncio
import time
import uuid
from typing import Any

import pytest
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from shared.mongo import connect_mongo, database_unavailable, in_transaction, raise_if_cancelled
from tests.shared.orphan_transaction import leave_orphaned_transaction


async def test_a_transaction_on_a_record_held_by_a_killed_process_ends_at_its_deadline(mongodb_url: str) -> None:
    db_name = f"t{uuid.uuid4().hex[:10]}_mongo"
    client = connect_mongo(mongodb_url)
    try:
        await client[db_name]["counters"].insert_one({"_id": "hot", "n": 0})
        await leave_orphaned_transaction(mongodb_url, db_name, "counters", "hot")

        async def bump(session: Any) -> None:
            await client[db_name]["counters"].update_one({"_id": "hot"}, {"$inc": {"n": 1}}, session=session)

        started = time.monotonic()
        with pytest.raises(PyMongoError) as failure:  # the driver alone would retry for up to 120 s
            await in_transaction(client, bump, timeout_s=1.0)
        assert time.monotonic() - started < 5
        assert database_unavailable(failure.value), repr(failure.value)
    finally:
        await client.close()


async def test_a_loop_of_transactions_under_a_deadline_ends_when_cancelled(mongodb_url: str) -> None:
    # Python 3.11's wait_for (which pymongo uses under a deadline) sometimes swallows a cancellation
    db_name = f"t{uuid.uuid4().hex[:10]}_mongo"
    client = connect_mongo(mongodb_url)

    async def bump(session: Any) -> None:
        for _ in range(20):
            await client[db_name]["counters"].update_one({"_id": "c"}, {"$inc": {"n": 1}}, session=session)

    async def work() -> None:  # like a periodic job or the consumer's worker
        while True:
            try:
                await in_transaction(client, bump, timeout_s=30)
            except Exception:
                pass
            raise_if_cancelled()

    try:
        await client[db_name]["counters"].insert_one({"_id": "c", "n": 0})
        for attempt in range(30):
            task = asyncio.create_task(work())
            await asyncio.sleep(0.05 + attempt * 0.003)  # cancel at varying points of the work
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=10)
            assert done and task.cancelled(), f"attempt {attempt}: still running after cancel"
    finally:
        await client.close()


@pytest.mark.parametrize(
    "error",
    [
        AutoReconnect("connection reset"),
        NetworkTimeout("timed out"),
        ServerSelectionTimeoutError("no servers"),
        NotPrimaryError("not primary"),
        ExecutionTimeout("operation exceeded time limit", 50),
        OperationFailure("WriteConflict", 112),
        OperationFailure("interrupted at shutdown", 11600),
        OperationFailure("aborted", 251, {"errorLabels": ["TransientTransactionError"]}),
    ],
)
def test_outages_timeouts_and_conflicts_are_worth_retrying(error: PyMongoError) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [DuplicateKeyError("E11000 duplicate key", 11000), OperationFailure("bad $set", 9), ValueError("a bug")],
)
def test_other_errors_are_bugs_or_refusals(error: Exception) -> None:
    assert not database_unavailable(error)
