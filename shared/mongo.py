"""The MongoDB client and the one way to run a transaction."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

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


async def in_transaction(client: AsyncMongoClient[Document], fn: Callable[[Session], Awaitable[T]]) -> T:
    """Run `fn` in one multi-document transaction, retried by the driver on transient conflicts."""
    async with client.start_session() as session:
        return await session.with_transaction(fn)


async def ping(client: AsyncMongoClient[Document]) -> None:
    """Raise if the server does not answer."""
    await client.admin.command("ping")


def utcnow() -> datetime:
    """The current UTC time at the millisecond precision BSON stores, so stored and returned values agree."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
