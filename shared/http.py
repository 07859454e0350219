"""HTTP conventions every service shares: ETag/If-Match, opaque cursors, public rate limits."""

import base64
import json
import time
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, Field

from shared.problems import Problem
from shared.rules import RuleViolation

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=64)]
Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=100)]


def etag(version: int) -> str:
    """The ETag of a document at `version`."""
    return f'"{version}"'


def require_match(if_match: str | None, version: int) -> None:
    """An edit must name the version it was made against: 428 without If-Match, 412 if it is stale."""
    if if_match is None:
        raise RuleViolation(
            "if_match_required",
            "修改需带 If-Match 头（当前版本的 ETag）/ send If-Match with the current ETag",
            "precondition_required",
        )
    if if_match.strip() not in (etag(version), "*"):
        raise RuleViolation(
            "version_mismatch",
            "内容已被他人修改，请刷新后重试 / modified since you read it",
            "stale",
            current_version=version,
        )


def lost_update(if_match: str | None) -> RuleViolation:
    """What to raise when a conditional write by version matched nothing: another writer changed the record after
    it was read. Nothing may be written or announced then (no event), and no answer made up from the stale read.

    412 if the caller named a version (it is no longer current); 409 for `If-Match: *` or no If-Match (the change
    was decided on a state that has gone: reload and decide again).
    """
    if if_match is not None and if_match.strip() != "*":
        return RuleViolation("version_mismatch", "内容已被他人修改，请刷新后重试 / modified since you read it", "stale")
    return RuleViolation("concurrent_change", "内容刚被他人修改，请刷新后重试 / changed meanwhile: reload, retry")


def versioned(body: dict[str, Any], status: int = 200, version_field: str | None = "version") -> JSONResponse:
    """A use case's result as JSON with the route's status, and the ETag of its version when it has one."""
    headers = {"ETag": etag(int(body[version_field]))} if version_field and version_field in body else None
    return JSONResponse(body, status_code=status, headers=headers)


def encode_cursor(state: dict[str, Any]) -> str:
    """An opaque cursor for `state` (clients pass it back unchanged)."""
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":"), default=str).encode()).decode()


CursorState = TypeVar("CursorState", bound=BaseModel)


class AfterId(BaseModel):
    """The state of a cursor over a list in `_id` order: the last id the previous page ended with."""

    after: str = Field(default="", max_length=500)


def decode_cursor(cursor: str, shape: type[CursorState]) -> CursorState:
    """The state inside a cursor, checked against `shape`; 400 if it was not made by encode_cursor."""
    try:
        return shape.model_validate_json(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:  # not base64, not JSON, or JSON of another shape (pydantic's ValidationError)
        raise RuleViolation("invalid_cursor", "游标无效 / invalid cursor", "bad_request") from exc


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory store, swept by the limiter in the event loop's thread at most once a second.

    limits sweeps from a timer thread every 10 ms, visiting every client's entries: during a spike of a few thousand
    clients that thread took a fifth of the service's CPU and held the GIL from the event loop; and it keeps a key
    whose entries have all expired, so a week of distinct addresses would only grow. Here no thread runs: `sweep`
    (called before each hit, in the one thread that hits) drops expired entries and empty keys. The moving window
    reads the entries' own times, so limits hold whatever the sweep's pace.
    """

    SWEEP_S = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()  # the one limits starts with
        self.timer.join()
        self.swept_at = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # limits calls it (name-mangled) on each hit: no timer
        pass

    def sweep(self) -> None:
        now = time.monotonic()
        if now - self.swept_at < self.SWEEP_S:
            return
        self.swept_at = now
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        for key in [key for key, entries in self.events.items() if not entries]:
            del self.events[key]


class RateLimiter:
    """Per-client limits for public endpoints (in-process moving window, so per replica).

    The synchronous in-memory store is used on purpose: it never blocks, and the asyncio one hops to a
    thread on every hit.
    """

    def __init__(self, limit: str, trusted_proxies: Sequence[IPv4Network | IPv6Network] = ()) -> None:
        self.item = parse(limit)
        self.storage = SweptMemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.trusted_proxies = tuple(trusted_proxies)

    def client(self, request: Request) -> str:
        """The caller's address: the peer's, or behind trusted proxies the right-most untrusted forwarded one."""
        peer = request.client.host if request.client else "unknown"
        if not self._trusted(peer):
            return peer  # whatever X-Forwarded-For says was written by the caller itself
        hops = [h.strip() for value in request.headers.getlist("x-forwarded-for") for h in value.split(",")]
        hops = [h for h in hops if h]
        # each trusted proxy appends the address it was called from: the last one no proxy of ours wrote is
        # the client; everything left of it is the client's own say
        untrusted = next((h for h in reversed(hops) if not self._trusted(h)), None)
        return untrusted or (hops[0] if hops else peer)

    def _trusted(self, host: str) -> bool:
        if not self.trusted_proxies:
            return False  # the usual case: no address to parse
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    async def check(self, key: str) -> None:
        self.storage.sweep()
        if not self.strategy.hit(self.item, key):
            reset, _ = self.strategy.get_window_stats(self.item, key)
            wait_s = max(1, int(reset - time.time()))
            raise Problem(
                429,
                "rate_limited",
                detail="请求过于频繁，请稍后再试 / too many requests",
                headers={"Retry-After": str(wait_s)},
            )


async def rate_limited(request: Request) -> None:
    """Dependency for public endpoints: 429 with Retry-After once a client exceeds the limit on a route."""
    limiter: RateLimiter = request.app.state.runtime.limiter
    # keyed by the route's template, not the concrete path: /bookings/{code} is one budget however many
    # codes a client tries (and the store holds one key per client and route, not per guessed code)
    template = getattr(request.scope.get("route"), "path", request.url.path)
    await limiter.check(f"{request.method} {template}:{limiter.client(request)}")


PublicRateLimit = Annotated[None, Depends(rate_limited)]
