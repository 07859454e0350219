"""Admission control: past the limit, a prompt problem+json 503 with Retry-After, never a dropped connection."""

import asyncio

import httpx
from starlette.types import Receive, Scope, Send

from shared.admission import ConcurrencyLimit
from shared.problems import PROBLEM_JSON


def slow_app(release: asyncio.Event) -> object:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


async def test_requests_past_the_limit_get_503_with_retry_after_and_probes_still_answer() -> None:
    release = asyncio.Event()
    guarded = ConcurrencyLimit(slow_app(release), limit=2, wait_s=0.05, retry_after_s=3)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://t") as client:
        working = [asyncio.create_task(client.get("/api/v1/x")) for _ in range(2)]
        await asyncio.sleep(0.01)
        refused = await client.get("/api/v1/x")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "3"
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert refused.json()["code"] == "overloaded"
        probe = asyncio.create_task(client.get("/healthz"))  # not counted: answers once the app does
        release.set()
        assert [r.status_code for r in await asyncio.gather(*working, probe)] == [200, 200, 200]
        assert (await client.get("/api/v1/x")).status_code == 200  # the slots were given back


async def test_a_request_waits_briefly_for_a_slot_before_being_refused() -> None:
    release = asyncio.Event()
    guarded = ConcurrencyLimit(slow_app(release), limit=1, wait_s=5, retry_after_s=1)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://t") as client:
        first = asyncio.create_task(client.get("/a"))
        second = asyncio.create_task(client.get("/b"))  # waits for the first one's slot
        await asyncio.sleep(0.05)
        release.set()
        assert [r.status_code for r in await asyncio.gather(first, second)] == [200, 200]
