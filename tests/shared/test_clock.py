"""The rehearsal clock (演练): programme time from the settings or set at run time, in every replica."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.exhibits.main import create_app as create_exhibits
from services.registration.main import create_app as create_registration
from services.reporting.main import create_app as create_reporting
from services.volunteers.main import create_app as create_volunteers
from shared.auth import mint_token
from shared.clock import Clock, Rehearsal
from shared.testing import eventually, running_service

Auth = Callable[..., dict[str, str]]
PROGRAMME_START = datetime(2020, 8, 22, 0, 0, tzinfo=UTC)  # 08:00 in Nanning


def test_programme_time_runs_from_its_start_at_its_rate() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    rehearsal = Rehearsal(PROGRAMME_START, anchor, 600)
    assert rehearsal.at(anchor + timedelta(seconds=1)) == PROGRAMME_START + timedelta(minutes=10)
    clock = Clock(rehearsal)
    assert clock.wall_interval(900) == 1.5  # the missed-visit check, every 15 programme minutes
    assert clock.wall_interval(60) == 1.0  # never more often than once a second
    assert Clock().wall_interval(60) == 60
    clock.fixed = PROGRAMME_START  # a test's fixed instant wins
    assert clock.now() == PROGRAMME_START and clock.state()["rehearsal"] is False


@pytest.mark.parametrize("create", [create_registration, create_exhibits, create_volunteers, create_reporting])
async def test_every_service_lives_at_the_configured_programme_time(create: Any, settings_for: Any) -> None:
    name = create.__module__.split(".")[1]
    settings = settings_for(name, clock="2020-08-22T08:00+08:00", clock_rate=60)
    async with running_service(create(settings)) as (runtime, client):
        state = (await client.get("/api/v1/clock")).json()
        assert state["rehearsal"] is True and state["rate"] == 60 and state["source"] == "settings"
        now = datetime.fromisoformat(state["now"])
        assert PROGRAMME_START <= now < PROGRAMME_START + timedelta(hours=2)
        assert runtime.clock.now() >= now


async def test_an_admin_sets_the_clock_at_run_time_and_every_replica_follows(settings_for: Any, auth: Auth) -> None:
    settings = settings_for("reporting")
    async with (
        running_service(create_reporting(settings)) as (one, client),
        running_service(create_reporting(settings)) as (other, _),
    ):
        assert (await client.get("/api/v1/clock")).json()["rehearsal"] is False
        body = {"at": "2020-09-08T10:00:00+08:00", "rate": 1}
        assert (await client.put("/api/v1/clock", json=body)).status_code == 401
        assert (await client.put("/api/v1/clock", json=body, headers=auth("city", city="450100"))).status_code == 403
        done = await client.put("/api/v1/clock", json=body, headers=auth("admin"))
        assert done.status_code == 200 and done.json()["rehearsal"] is True
        at = datetime(2020, 9, 8, 2, tzinfo=UTC)
        assert at <= one.clock.now() < at + timedelta(minutes=1)

        async def followed() -> bool:
            return at <= other.clock.now() < at + timedelta(minutes=1)

        await eventually(followed)
        assert (await client.delete("/api/v1/clock", headers=auth("admin"))).json()["rehearsal"] is False


async def test_production_does_not_let_anyone_move_the_clock(settings_for: Any, auth: Auth) -> None:
    settings = settings_for("volunteers", env="production", jwt_secret="p" * 40)
    async with running_service(create_volunteers(settings)) as (runtime, client):
        body = {"at": "2020-08-22T08:00:00+08:00", "rate": 600}
        admin = {"Authorization": f"Bearer {mint_token(settings, role='admin', sub='office')}"}
        refused = await client.put("/api/v1/clock", json=body, headers=admin)
        assert refused.status_code == 403 and refused.json()["code"] == "clock_control_disabled"
        assert runtime.clock.rehearsal is None and (await client.get("/api/v1/clock")).json()["control"] is False


async def test_each_service_has_a_chinese_landing_page_with_its_links(settings_for: Any) -> None:
    async with running_service(create_reporting(settings_for("reporting"))) as (_, client):
        page = await client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for text in ("进度与报告", 'href="dashboard"', 'href="docs"', 'href="healthz"', 'href="metrics"', "科技活动周"):
            assert text in page.text
        assert (await client.get("/dashboard")).status_code == 200
    async with running_service(create_volunteers(settings_for("volunteers"))) as (_, client):
        page = await client.get("/")
        assert "科技特派员" in page.text and 'href="readyz"' in page.text
