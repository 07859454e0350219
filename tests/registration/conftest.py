"""Registration fixtures: a programme around today, a running service, and an approved venue with an open day.

One service runs for a whole module (`registration`, emptied before each test); a test that needs other settings
starts its own from `registration_settings`.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from services.registration.main import create_app
from shared.app import Runtime
from shared.testing import reset_service, running_service
from tests.conftest import TZ, today

Auth = Callable[..., dict[str, str]]
CITY = "450100"


@pytest.fixture
def registration_settings(settings_for: Callable[..., Any], programme_file: Path) -> Callable[..., Any]:
    def build(**overrides: Any) -> Any:
        values = {"programme_file": programme_file, "public_rate_limit": "100000/minute", **overrides}
        return settings_for("registration", **values)

    return build


@pytest.fixture(scope="module")
async def registration_service(
    module_settings_for: Callable[..., Any], programme_file: Path
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    settings = module_settings_for("registration", programme_file=programme_file, public_rate_limit="100000/minute")
    async with running_service(create_app(settings)) as service:
        yield service


@pytest.fixture
async def registration(
    registration_service: tuple[Runtime, httpx.AsyncClient],
) -> tuple[Runtime, httpx.AsyncClient]:
    """The module's service, empty: no venue, booking or event of an earlier test."""
    await reset_service(registration_service[0])
    return registration_service


@dataclass
class Venue:
    id: str
    operator: dict[str, str]


async def approved_venue(
    client: httpx.AsyncClient, auth: Auth, operator: str = "op-1", city: str = CITY, **fields: Any
) -> Venue:
    """A venue registered by `operator` and approved by its city's coordinator."""
    headers = auth("venue", sub=operator)
    body = {"name": "广西科技馆", "org_type": "science_museum", "city_code": city, **fields}
    created = await client.post("/api/v1/venues", json=body, headers=headers)
    assert created.status_code == 201, created.text
    venue_id = created.json()["id"]
    approved = await client.post(f"/api/v1/venues/{venue_id}/approve", headers=auth("city", city=city))
    assert approved.status_code == 200, approved.text
    return Venue(venue_id, headers)


async def published_openday(
    client: httpx.AsyncClient,
    venue: Venue,
    *,
    day: date | None = None,
    capacities: tuple[int, ...] = (100,),
    **fields: Any,
) -> dict[str, Any]:
    """An open day of `venue` with one session per capacity (hourly from 09:00), published, booking open now."""
    sessions = [{"start": f"{9 + i:02d}:00", "end": f"{9 + i:02d}:50", "capacity": c} for i, c in enumerate(capacities)]
    body = {
        "date": (day or today() + timedelta(days=2)).isoformat(),
        "sessions": sessions,
        "booking_closes_at": (datetime.now(TZ) + timedelta(days=20)).isoformat(),
        "max_group_size": 10,
        **fields,
    }
    created = await client.post(f"/api/v1/venues/{venue.id}/opendays", json=body, headers=venue.operator)
    assert created.status_code == 201, created.text
    published = await client.post(f"/api/v1/opendays/{created.json()['id']}/publish", headers=venue.operator)
    assert published.status_code == 200, published.text
    return dict(published.json())


def booking_body(session_id: str, phone: str = "13800000000", party_size: int = 1, **extra: Any) -> dict[str, Any]:
    return {"session_id": session_id, "name": "张三", "phone": phone, "party_size": party_size, **extra}


def changed_by_another_writer_after_read(
    monkeypatch: pytest.MonkeyPatch,
    use_cases: ModuleType,
    runtime: Runtime,
    collection: str,
    document_id: str,
    changes: dict[str, Any],
) -> None:
    """A lost update, deterministically: right after a use case of `use_cases` has read document `document_id` and
    checked the caller's If-Match (its first `require_match`), another writer commits `changes` as the next version."""
    original = use_cases.require_match
    calls = 0

    def check_then_another_writer(if_match: str | None, version: int) -> None:
        nonlocal calls
        original(if_match, version)
        calls += 1
        if calls == 1:
            with MongoClient(runtime.settings.mongodb_url) as other:
                other[runtime.settings.mongodb_db][collection].update_one(
                    {"_id": document_id}, {"$set": {**changes, "version": version + 1}}
                )

    monkeypatch.setattr(use_cases, "require_match", check_then_another_writer)
