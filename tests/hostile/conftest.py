"""The four services, one instance each for the package, driven by hypothesis and schemathesis.

Hypothesis runs a property's examples synchronously, while the services live on the test's event loop: a
property runs in a worker thread (`in_thread`) and sends each request to the loop (`Services.call`).
"""

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.app import Runtime
from shared.auth import Role, mint_token
from shared.problems import PROBLEM_JSON
from shared.settings import SERVICES, Settings
from shared.testing import RabbitVhost, make_settings, running_service

TUNING: dict[str, dict[str, Any]] = {
    "registration": {"public_rate_limit": "1000000/minute"},  # the fuzz run is no attack on the limits
    "exhibits": {"public_rate_limit": "1000000/minute"},
    "volunteers": {"volunteers_missed_check_s": 0},
    "reporting": {"public_rate_limit": "1000000/minute", "reporting_job_interval_s": 3600},
}


@dataclass
class Services:
    """The running services, their settings, and a blocking way to call them from a property's thread."""

    apps: dict[str, FastAPI]
    running: dict[str, tuple[Runtime, httpx.AsyncClient]]
    settings: dict[str, Settings]
    loop: asyncio.AbstractEventLoop

    def client(self, service: str) -> httpx.AsyncClient:
        return self.running[service][1]

    def auth(self, role: Role, sub: str | None = None, **claims: Any) -> dict[str, str]:
        token = mint_token(self.settings["reporting"], role=role, sub=sub or f"fuzz-{role}", **claims)
        return {"Authorization": f"Bearer {token}"}

    def call(self, service: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request to `service`, made on the services' loop from a property's worker thread."""
        request = self.client(service).request(method, url, **kwargs)
        return asyncio.run_coroutine_threadsafe(request, self.loop).result(timeout=60)


async def in_thread(prop: Callable[[], None]) -> None:
    """Run a hypothesis property (whose requests go through Services.call) off the event loop."""
    await asyncio.to_thread(prop)


def assert_client_error_or_success(response: httpx.Response) -> None:
    """No server error; a refusal is application/problem+json with a stable code."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM_JSON, response.headers
        assert response.json()["code"], response.text


@pytest.fixture(scope="package")
async def services(mongodb_url: str, vhost: RabbitVhost, programme_file: Path) -> AsyncIterator[Services]:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    settings = {
        name: make_settings(
            name,
            namespace=namespace,
            mongodb_url=mongodb_url,
            amqp_url=vhost.url,
            programme_file=programme_file,
            **TUNING[name],
        )
        for name in SERVICES
    }
    async with AsyncExitStack() as stack:
        apps: dict[str, FastAPI] = {}
        running = {}
        for name in SERVICES:
            apps[name] = importlib.import_module(f"services.{name}.main").create_app(settings[name])
            running[name] = await stack.enter_async_context(running_service(apps[name]))
        yield Services(apps, running, settings, asyncio.get_running_loop())
