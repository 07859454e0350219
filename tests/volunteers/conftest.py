"""Fixtures of the volunteers tests: a running service and reference data registered over its API.

One service runs for a whole module (`volunteers`, emptied before each test).
"""

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from services.volunteers.main import create_app
from shared.app import Runtime
from shared.testing import reset_service, running_service

Auth = Callable[..., dict[str, str]]
Service = tuple[Runtime, httpx.AsyncClient]
DATES = ["2020-08-24", "2020-08-25", "2020-08-26"]


@pytest.fixture(scope="module")
async def volunteers_service(module_settings_for: Callable[..., Any]) -> AsyncIterator[Service]:
    settings = module_settings_for("volunteers", volunteers_missed_check_s=0)
    async with running_service(create_app(settings)) as service:
        yield service


@pytest.fixture
async def volunteers(volunteers_service: Service) -> Service:
    """The module's service, empty: no commissioner, assignment or event of an earlier test."""
    await reset_service(volunteers_service[0])
    return volunteers_service


def commissioner(cid: str, city: str = "450100", **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "name": f"特派员{cid}",
        "phone": "13812345678",
        "city_code": city,
        "county": "武鸣区",
        "expertise": ["种植", "养殖"],
        "available_dates": DATES,
        "max_visits_per_day": 2,
        "base_lat": 23.16,
        "base_lon": 108.27,
        **extra,
    }


def village(code: str, city: str = "450100", **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"{code}村",
        "county": "武鸣区",
        "city_code": city,
        "lat": 23.16,
        "lon": 108.27,
        "needs": ["种植"],
        **extra,
    }


async def register(
    client: httpx.AsyncClient,
    auth: Auth,
    people: list[dict[str, Any]],
    villages: list[dict[str, Any]],
    households: int = 3,
) -> None:
    """Register commissioners, villages and `households` households per village (h1.. prefixed by the village)."""
    admin = auth("admin")
    for person in people:
        response = await client.put(f"/api/v1/commissioners/{person['id']}", json=person, headers=admin)
        assert response.status_code == 200, response.text
    for v in villages:
        assert (await client.put(f"/api/v1/villages/{v['code']}", json=v, headers=admin)).status_code == 200
        for n in range(1, households + 1):
            hid = f"{v['code']}-h{n}"
            body = {"id": hid, "village_code": v["code"], "head_name": "韦小宝", "needs": ["种植"]}
            assert (await client.put(f"/api/v1/households/{hid}", json=body, headers=admin)).status_code == 200
