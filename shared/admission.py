"""Admission control: at most `limit` requests in progress per process; past it, a prompt 503 with Retry-After.

Without it a spike of a thousand clients queues inside the process for the database's connection pool until
the request deadline, and requests that already took a seat time out before they can confirm it. Here a request
waits at most `wait_s` for a slot, before doing any work, and is otherwise told when to come back.
"""

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.problems import Problem, problem_response

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ConcurrencyLimit:
    """ASGI middleware: `limit` requests at a time (0: no limit); probes and event streams are not counted."""

    def __init__(self, app: ASGIApp, limit: int, wait_s: float, retry_after_s: int) -> None:
        self.app = app
        self.limit = limit
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self.slots = asyncio.Semaphore(max(1, limit))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or not _counted(scope):
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self.slots.acquire(), self.wait_s)
        except TimeoutError:
            busy = Problem(
                503,
                "overloaded",
                detail=f"请求过多，请 {self.retry_after_s} 秒后重试 / too many requests in progress: retry later",
            )
            await problem_response(busy, headers={"Retry-After": str(self.retry_after_s)})(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


def _counted(scope: Scope) -> bool:
    """Probes must answer under load, and a Server-Sent Events stream would hold its slot for hours."""
    if scope["path"] in EXEMPT_PATHS:
        return False
    return not any(name == b"accept" and b"text/event-stream" in value for name, value in scope["headers"])
