"""Work of concurrent requests done together: while one batch is handled, what arrives meanwhile forms the next.

The database pays per statement far more than per document (`bench/README.md`), so a spike's requests that each
need the same kind of statement share one: the group commit of bookings (`shared/group_commit.py`) and the look-up of
Idempotency-Keys (`shared/idempotency.py`, `PriorAnswers`). No timer: a lone request is handled at once.
"""

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """`submit(item)` returns `handle`'s outcome for the item; one task at a time runs `handle` on what waits."""

    def __init__(self, handle: Callable[[list[T]], Awaitable[list[R | BaseException]]], max_batch: int = 64) -> None:
        self.handle = handle  # one outcome per item, in order
        self.max_batch = max_batch
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, done))
        if self.runner is None or self.runner.done():
            # a context of its own: not the first caller's request deadline nor its correlation id
            self.runner = asyncio.create_task(self._run(), context=contextvars.Context())
        return await done

    async def _run(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[: self.max_batch], self.waiting[self.max_batch :]
                try:
                    outcomes = await self.handle([item for item, _ in batch])
                except Exception as exc:  # the whole batch failed (the database is away, say): each item says so
                    outcomes = [exc] * len(batch)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():  # its caller went away (a client that hung up)
                        continue
                    if isinstance(outcome, BaseException):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
                batch = []
        except BaseException as exc:  # cancelled at shutdown, or a bug: nobody is left waiting forever
            for _, done in batch + self.waiting:
                if not done.done():
                    done.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            self.waiting = []
            raise
