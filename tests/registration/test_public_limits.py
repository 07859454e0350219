"""Public rate limits: one budget per client and route, the client being who the trusted proxies say it is."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from services.registration.main import create_app
from shared.testing import running_service

LISTING = "/api/v1/public/opendays"


@asynccontextmanager
async def public_client(
    registration_settings: Callable[..., Any], peer: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The registration service with its own settings, called from `peer` (the address the server sees)."""
    app = create_app(registration_settings(**overrides))
    async with running_service(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def statuses(client: httpx.AsyncClient, paths: list[str], forwarded: list[str | None]) -> list[int]:
    answers = []
    for path, hops in zip(paths, forwarded, strict=True):
        headers = {"X-Forwarded-For": hops} if hops is not None else {}
        answers.append((await client.get(path, headers=headers)).status_code)
    return answers


async def test_guessing_booking_codes_spends_one_budget(registration_settings: Callable[..., Any]) -> None:
    async with public_client(registration_settings, public_rate_limit="5/minute") as client:
        guesses = [f"/api/v1/public/bookings/GUESS{i:05d}" for i in range(6)]
        assert await statuses(client, guesses, [None] * 6) == [404] * 5 + [429]
        # the budget is per route: the listing still answers, and the QR route has its own
        assert await statuses(client, [LISTING], [None]) == [200]
        assert await statuses(client, ["/api/v1/public/bookings/GUESS00000/qr.png"], [None]) == [404]


async def test_forwarded_for_from_a_peer_that_is_no_trusted_proxy_is_ignored(
    registration_settings: Callable[..., Any],
) -> None:
    async with public_client(registration_settings, "203.0.113.9", public_rate_limit="3/minute") as client:
        spoofed: list[str | None] = [f"10.0.0.{i}" for i in range(4)]
        assert await statuses(client, [LISTING] * 4, spoofed) == [200, 200, 200, 429]


async def test_behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_hop(
    registration_settings: Callable[..., Any],
) -> None:
    settings = {"public_rate_limit": "3/minute", "trusted_proxies": "127.0.0.1, 10.1.0.0/16"}
    async with public_client(registration_settings, "127.0.0.1", **settings) as client:
        # what the client wrote on the left changes nothing: the proxies appended 198.51.100.7, then 10.1.2.3
        spoofed: list[str | None] = [f"192.0.2.{i}, 198.51.100.7, 10.1.2.3" for i in range(4)]
        assert await statuses(client, [LISTING] * 4, spoofed) == [200, 200, 200, 429]
        assert await statuses(client, [LISTING], ["198.51.100.8"]) == [200]  # another client behind the proxy
        assert await statuses(client, [LISTING] * 3, [None] * 3) == [200, 200, 200]  # the proxy itself, no header
