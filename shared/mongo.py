"""The MongoDB client and the one way to run a transaction."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from shared.settings import Settings

T = TypeVar("T")
Session = AsyncClientSession
Document = dict[str, Any]


def connect_mongo(
    url: str, *, timeout_ms: int = 10_000, w: int | str = "majority", journal: bool = True
) -> AsyncMongoClient[Document]:
    """A client for `url` (lazy: connects on first use) whose writes and commits use write concern `w`/`journal`.

    The default is durable: acknowledged means journaled. Transactions inherit it for their commit.
    """
    return AsyncMongoClient(
        url, tz_aware=True, serverSelectionTimeoutMS=timeout_ms, appname="sciweek", w=w, journal=journal
    )


def connect_for(settings: Settings) -> AsyncMongoClient[Document]:
    """The service's client as its settings describe it (URL, timeout, write concern)."""
    return connect_mongo(
        settings.mongodb_url,
        timeout_ms=settings.mongodb_timeout_ms,
        w=settings.mongodb_w,
        journal=settings.mongodb_journal,
    )


async def in_transaction(
    client: AsyncMongoClient[Document], fn: Callable[[Session], Awaitable[T]], *, timeout_s: float
) -> T:
    """Run `fn` in one multi-document transaction, retried by the driver on transient conflicts for at most
    `timeout_s` (or less if an enclosing `pymongo.timeout`, such as a request's deadline, ends sooner)."""
    # without a deadline with_transaction retries write conflicts for 120 s, e.g. against the open transaction
    # of a killed process; past the deadline it raises a timeout error (database_unavailable says so)
    with pymongo.timeout(timeout_s):
        async with client.start_session() as session:
            return await session.with_transaction(fn)


# server error codes that say "not now" rather than "never": shutdown, stepdown, network, time limits, write conflict
TRANSIENT_CODES = frozenset({6, 7, 50, 64, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database was unreachable, busy or out of time, so the same work may succeed later."""
    if isinstance(exc, ConnectionFailure):  # AutoReconnect, NetworkTimeout, NotPrimaryError, ServerSelectionTimeout
        return True
    if not isinstance(exc, PyMongoError):
        return False
    if exc.timeout or exc.has_error_label("TransientTransactionError") or exc.has_error_label("RetryableWriteError"):
        return True
    return isinstance(exc, OperationFailure) and exc.code in TRANSIENT_CODES


def raise_if_cancelled() -> None:
    """Re-raise a cancellation of the current task that a pymongo call under a deadline swallowed.

    Under a deadline pymongo waits with `asyncio.wait_for(..., timeout)`, and Python 3.11's wait_for returns the
    inner result when the cancellation arrives just as that completes (fixed in 3.12): the task goes on, cancelled
    but never told. Loops that are stopped by cancelling them call this between units of work.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def ping(client: AsyncMongoClient[Document]) -> None:
    """Raise if the server does not answer."""
    await client.admin.command("ping")


def utcnow() -> datetime:
    """The current UTC time at the millisecond precision BSON stores, so stored and returned values agree."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
