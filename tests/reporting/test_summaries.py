"""City summaries against their deadline over HTTP: on time, late, missing, locked, exception; reminders."""

from datetime import UTC, datetime
from typing import Any

from services.reporting import summaries
from services.reporting.main import create_app
from shared.outbox import OUTBOX
from shared.testing import running_service
from tests.reporting import scenario
from tests.reporting.conftest import publish, settled

NANNING, LIUZHOU, GUILIN, WUZHOU = "450100", "450200", "450300", "450400"


def at(day: int, hour: int = 4) -> datetime:
    return datetime(2020, 9, day, hour, tzinfo=UTC)


async def test_on_time_late_missing_locked_and_exception(settings_for: Any, auth: Any) -> None:
    app = create_app(settings_for("reporting"))
    admin = auth("admin")
    async with running_service(app) as (runtime, client):
        await publish(runtime, scenario.visits())
        await settled(runtime, 8, 8)

        def city(code: str) -> dict[str, str]:
            return auth("city", city=code)

        app.state.clock.fixed = at(7)
        draft = await client.get(f"/api/v1/summaries/{NANNING}", headers=city(NANNING))
        assert draft.json()["numbers"]["completed"] == 1 and draft.json()["status"] == "pending"
        assert (await client.get(f"/api/v1/summaries/{GUILIN}", headers=city(NANNING))).status_code == 404
        text = {"narrative": "南宁市科技活动周总结"}
        unconditional = await client.put(f"/api/v1/summaries/{NANNING}", json=text, headers=city(NANNING))
        assert unconditional.status_code == 428
        edit = {**city(NANNING), "If-Match": draft.headers["etag"]}
        assert (await client.put(f"/api/v1/summaries/{NANNING}", json=text, headers=edit)).status_code == 204
        assert (await client.put(f"/api/v1/summaries/{NANNING}", json=text, headers=edit)).status_code == 412
        once = {**city(NANNING), "Idempotency-Key": "k-1"}
        first = await client.post(f"/api/v1/summaries/{NANNING}/submit", headers=once)
        assert first.json()["status"] == "on_time"
        assert (await client.post(f"/api/v1/summaries/{NANNING}/submit", headers=once)).json() == first.json()
        again = await client.post(f"/api/v1/summaries/{NANNING}/submit", headers=city(NANNING))
        assert again.status_code == 409 and again.json()["code"] == "summary_already_submitted"

        app.state.clock.fixed = at(10)
        late = await client.post(f"/api/v1/summaries/{LIUZHOU}/submit", headers=city(LIUZHOU))
        assert late.json()["status"] == "late"

        app.state.clock.fixed = at(20)
        locked = await client.post(f"/api/v1/summaries/{WUZHOU}/submit", headers=city(WUZHOU))
        assert locked.status_code == 409 and locked.json()["code"] == "summary_locked"
        grant = {"until": at(21).isoformat()}
        forbidden = await client.post(f"/api/v1/summaries/{WUZHOU}/exception", json=grant, headers=city(WUZHOU))
        assert forbidden.status_code == 403
        assert (
            await client.post(f"/api/v1/summaries/{WUZHOU}/exception", json=grant, headers=admin)
        ).status_code == 204
        excused = await client.post(f"/api/v1/summaries/{WUZHOU}/submit", headers=city(WUZHOU))
        assert excused.status_code == 200 and excused.json()["status"] == "late"

        board = (await client.get("/api/v1/deadlines", headers=admin)).json()
        status = {row["city_code"]: row["status"] for row in board["cities"]}
        assert (status[NANNING], status[LIUZHOU], status[WUZHOU], status[GUILIN]) == (
            "on_time",
            "late",
            "late",
            "missing",
        )
        assert board["cities"][2]["locked"] is True  # Guilin missed it and is locked
        assert (board["completeness"], board["timeliness"]) == (3 / 14, 1 / 14)
        mine = (await client.get("/api/v1/deadlines", headers=city(GUILIN))).json()
        assert [row["city_code"] for row in mine["cities"]] == [GUILIN]

        submitted = (await client.get(f"/api/v1/summaries/{NANNING}", headers=admin)).json()
        assert submitted["narrative"] == "南宁市科技活动周总结" and submitted["numbers"]["completed"] == 1
        province = (await client.get("/api/v1/summaries/province", headers=admin)).json()
        placeholders = [c for c in province["cities"] if c["submitted_at"] is None]
        assert len(placeholders) == 11 and "未提交" in placeholders[0]["narrative"]
        assert province["numbers"]["completed"] == 2


async def test_reminders_three_days_and_one_day_before_are_announced_once(settings_for: Any) -> None:
    async with running_service(create_app(settings_for("reporting"))) as (runtime, _):
        assert await summaries.send_reminders(runtime, at(5)) == 14  # every city, 3 days before 8 Sep
        assert await summaries.send_reminders(runtime, at(5, 8)) == 0
        assert await summaries.send_reminders(runtime, at(14)) == 1  # the province, 1 day before 15 Sep
        entries = await runtime.db[OUTBOX].find({"type": "reporting.summary.reminder.v1"}).to_list()
        assert sorted(e["envelope"]["data"]["days_left"] for e in entries) == [1] + [3] * 14
