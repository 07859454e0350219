"""The exhibits service against the real database and broker, with helpers that walk the lifecycle.

One service runs for a whole module (`exhibits`, emptied before each test); a test that needs other settings starts
its own.
"""

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from services.exhibits.main import create_app
from shared.app import Runtime
from shared.settings import REPO_ROOT
from shared.testing import reset_service, running_service, tap_events

Auth = Callable[..., dict[str, str]]


def programme_with_deadline(tmp_path: Path, deadline: datetime) -> Path:
    """A copy of the reference programme whose submissions close at `deadline`."""
    text = (REPO_ROOT / "config" / "programme.toml").read_text()
    marker = "# submission_deadline = 2020-08-10T18:00:00+08:00"
    assert marker in text
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "programme.toml"
    path.write_text(text.replace(marker, f"submission_deadline = {deadline.isoformat()}"))
    return path


@pytest.fixture(scope="module")
async def exhibits_service(module_settings_for: Callable[..., Any]) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    async with running_service(create_app(module_settings_for("exhibits"))) as service:
        yield service


@pytest.fixture
async def exhibits(exhibits_service: tuple[Runtime, httpx.AsyncClient]) -> tuple[Runtime, httpx.AsyncClient]:
    """The module's service, empty: no submission, reviewer, booth or event of an earlier test."""
    await reset_service(exhibits_service[0])
    return exhibits_service


def exhibit(title: str, zone: int = 1, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "zone": zone, "summary": fields.pop("summary", f"{title}的介绍")}
    if zone == 3:
        body["industry"] = fields.pop("industry", "生物医药")
    body.update(fields)
    return body


class Flow:
    """Drives submissions through the API as the right roles."""

    def __init__(self, client: httpx.AsyncClient, auth: Auth) -> None:
        self.client = client
        self.auth = auth
        self.admin = auth("admin", sub="office")

    def org(self, org: str, city: str | None = "450100") -> dict[str, str]:
        return self.auth("exhibitor", sub=f"user-{org}", org=org, city=city)

    async def create(self, body: dict[str, Any], org: str = "gxu", city: str | None = "450100") -> dict[str, Any]:
        """Create and (unless the body says `submit: false`) submit at once."""
        body = {"submit": True, **body}
        response = await self.client.post("/api/v1/submissions", json=body, headers=self.org(org, city))
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def review(self, exhibit_id: str, reviewer: str, score: int, comment: str = "") -> httpx.Response:
        scores = {c: score for c in ("advancement", "show_value", "physical", "relevance")}
        return await self.client.post(
            f"/api/v1/submissions/{exhibit_id}/reviews",
            json={"scores": scores, "comment": comment},
            headers=self.auth("reviewer", sub=reviewer),
        )

    async def assign(self, reviewer: str, zones: list[int]) -> None:
        response = await self.client.put(f"/api/v1/reviewers/{reviewer}", json={"zones": zones}, headers=self.admin)
        assert response.status_code == 200, response.text

    async def decide(self, exhibit_id: str, decision: str, force: bool = False) -> httpx.Response:
        body = {"decision": decision, "force": force}
        return await self.client.post(f"/api/v1/submissions/{exhibit_id}/decision", json=body, headers=self.admin)

    async def accepted(self, body: dict[str, Any], org: str = "gxu", city: str | None = "450100") -> dict[str, Any]:
        created = await self.create(body, org, city)
        decided = await self.decide(created["id"], "accepted", force=True)
        assert decided.status_code == 200, decided.text
        return dict(decided.json())


@pytest.fixture
def flow(exhibits: tuple[Runtime, httpx.AsyncClient], auth: Auth) -> Flow:
    return Flow(exhibits[1], auth)


async def tap(runtime: Runtime, *bindings: str) -> aio_pika.abc.AbstractQueue:
    """What the exhibits relay published (all exhibits events unless bindings are given)."""
    return await tap_events(runtime.broker, *(bindings or ("exhibits.#",)))


async def received(queue: aio_pika.abc.AbstractQueue, n: int) -> list[dict[str, Any]]:
    """The first `n` event envelopes on `queue` (waits up to 15 s for them)."""
    envelopes: list[dict[str, Any]] = []
    async with queue.iterator(timeout=15) as messages:
        async for message in messages:
            await message.ack()
            envelopes.append(json.loads(message.body))
            if len(envelopes) == n:
                break
    return envelopes


async def received_types(queue: aio_pika.abc.AbstractQueue, n: int) -> list[str]:
    """The types of the first `n` messages on `queue`."""
    return [envelope["type"] for envelope in await received(queue, n)]
