"""What a use case may use: the service's database, its outbox, its clock, its programme and its settings.

Use cases and periodic jobs are written against `UnitOfWork`, never against `shared.app.Runtime`: they
see no broker, relay, consumer, token verifier or HTTP objects. The running service's Runtime is one
implementation; a test may pass any object with these members.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from shared.cache import TtlCache
from shared.clock import Clock
from shared.group_commit import Writes
from shared.metrics import Metrics
from shared.mongo import Document, Session
from shared.outbox import Outbox
from shared.programme import Programme
from shared.settings import Settings

T = TypeVar("T")


class UnitOfWork(Protocol):
    settings: Settings
    programme: Programme
    db: AsyncDatabase[Document]  # the service's own database (store.py names its collections)
    events: Outbox  # `await uow.events.emit(session, contract_object, subject=...)` inside `commit`
    clock: Clock  # the one clock of routes and jobs (a test or a rehearsal moves it)
    metrics: Metrics

    async def commit(self, fn: Callable[[Session], Awaitable[T]]) -> T:
        """Run `fn` (a state change and its events) in one transaction."""
        ...

    async def commit_once(
        self,
        key: str | None,
        body: Any,
        fn: Callable[[Session], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """`commit` under an Idempotency-Key: a replay returns the first result."""
        ...

    async def commit_writes(self, writes: Writes) -> None:
        """Commit described writes in one transaction, together with other requests' arriving meanwhile (a group
        commit: `shared/group_commit.py`); raises what committing them alone would raise."""
        ...

    async def prior_answer(self, key: str) -> dict[str, Any] | None:
        """The record kept under an Idempotency-Key (`shared.idempotency.record`), or None: read together with other
        requests' look-ups (`shared.idempotency.PriorAnswers`)."""
        ...

    def cache(self, name: str, ttl_s: float) -> TtlCache[Any]:
        """This replica's short-lived cache called `name`."""
        ...


Job = Callable[[UnitOfWork], Awaitable[None]]  # a periodic job, declared in a service's spec
