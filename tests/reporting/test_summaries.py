"""City summaries against their deadline over HTTP: on time, late, missing, locked, exception; reminders."""

from datetime import UTC, datetime
from typing import Any

from services.reporting.service import summaries
from shared.outbox import OUTBOX
from tests.reporting import scenario
from tests.reporting.conftest import publish, settled

NANNING, LIUZHOU, GUILIN, WUZHOU = "450100", "450200", "450300", "450400"


def at(day: int, hour: int = 4) -> datetime:
    return datetime(2020, 9, day, hour, tzinfo=UTC)


async def test_on_time_late_missing_locked_and_exception(reporting: Any, auth: Any) -> None:
    admin = auth("admin")
    runtime, client = reporting
    visits = scenario.visits()
    await publish(runtime, visits)
    await settled(runtime, len(visits), len(visits))

    def city(code: str) -> dict[str, str]:
        return auth("city", city=code)

    runtime.clock.fixed = at(7)
    draft = await client.get(f"/api/v1/summaries/{NANNING}", headers=city(NANNING))
    assert draft.json()["numbers"]["completed"] == 1 and draft.json()["status"] == "pending"
    assert (await client.get(f"/api/v1/summaries/{GUILIN}", headers=city(NANNING))).status_code == 404
    text = {"narrative": "南宁市科技活动周总结"}
    unconditional = await client.put(f"/api/v1/summaries/{NANNING}", json=text, headers=city(NANNING))
    assert unconditional.status_code == 428
    edit = {**city(NANNING), "If-Match": draft.headers["etag"]}
    saved = await client.put(f"/api/v1/summaries/{NANNING}", json=text, headers=edit)
    assert saved.status_code == 204
    assert (await client.put(f"/api/v1/summaries/{NANNING}", json=text, headers=edit)).status_code == 412
    current = await client.get(f"/api/v1/summaries/{NANNING}", headers=city(NANNING))
    assert saved.headers["etag"] == current.headers["etag"]  # the next save needs no read in between
    assert current.json()["updated_by"] == "test-city" and current.json()["updated_at"] is not None
    once = {**city(NANNING), "Idempotency-Key": "k-1"}
    first = await client.post(f"/api/v1/summaries/{NANNING}/submit", headers=once)
    assert first.json()["status"] == "on_time"
    assert (await client.post(f"/api/v1/summaries/{NANNING}/submit", headers=once)).json() == first.json()
    again = await client.post(f"/api/v1/summaries/{NANNING}/submit", headers=city(NANNING))
    assert again.status_code == 409 and again.json()["code"] == "summary_already_submitted"

    runtime.clock.fixed = at(10)
    late = await client.post(f"/api/v1/summaries/{LIUZHOU}/submit", headers=city(LIUZHOU))
    assert late.json()["status"] == "late"

    runtime.clock.fixed = at(20)
    locked = await client.post(f"/api/v1/summaries/{WUZHOU}/submit", headers=city(WUZHOU))
    assert locked.status_code == 409 and locked.json()["code"] == "summary_locked"
    grant = {"until": at(21).isoformat()}
    forbidden = await client.post(f"/api/v1/summaries/{WUZHOU}/exception", json=grant, headers=city(WUZHOU))
    assert forbidden.status_code == 403
    assert (await client.post(f"/api/v1/summaries/{WUZHOU}/exception", json=grant, headers=admin)).status_code == 204
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
    excepted = {row["city_code"]: row["exception_until"] for row in board["cities"]}
    assert excepted[WUZHOU] is not None and excepted[GUILIN] is None
    assert (board["completeness"], board["timeliness"]) == (3 / 14, 1 / 14)
    mine = (await client.get("/api/v1/deadlines", headers=city(GUILIN))).json()
    assert [row["city_code"] for row in mine["cities"]] == [GUILIN]

    submitted = (await client.get(f"/api/v1/summaries/{NANNING}", headers=admin)).json()
    assert submitted["narrative"] == "南宁市科技活动周总结" and submitted["numbers"]["completed"] == 1
    province = (await client.get("/api/v1/summaries/province", headers=admin)).json()
    placeholders = [c for c in province["cities"] if c["submitted_at"] is None]
    assert len(placeholders) == 11 and "未提交" in placeholders[0]["narrative"]
    assert province["numbers"]["completed"] == 2


async def test_reminders_three_days_and_one_day_before_are_announced_once(reporting: Any) -> None:
    runtime, _ = reporting
    owing = len(runtime.programme.cities) + len(runtime.programme.units)
    assert owing == 14 + 5
    assert await summaries.send_reminders(runtime, at(5)) == owing  # every city and unit, 3 days before 8 Sep
    assert await summaries.send_reminders(runtime, at(5, 8)) == 0
    assert await summaries.send_reminders(runtime, at(14)) == 1  # the province, 1 day before 15 Sep
    entries = await runtime.db[OUTBOX].find({"type": "reporting.summary.reminder.v1"}).to_list()
    assert sorted(e["envelope"]["data"]["days_left"] for e in entries) == [1] + [3] * owing
    assert {"unit:gxu", "city:450100"} <= {e["envelope"]["data"]["scope"] for e in entries}


async def test_a_supporting_unit_writes_its_own_summary_prefilled_with_its_numbers(reporting: Any, auth: Any) -> None:
    admin, gxu = auth("admin"), auth("unit", org="gxu")
    runtime, client = reporting
    events = [*scenario.visits(), *scenario.exhibits()]
    await publish(runtime, events)
    await settled(runtime, len(events), len(events))
    runtime.clock.fixed = at(7)

    draft = await client.get("/api/v1/summaries/gxu", headers=gxu)
    assert draft.status_code == 200 and draft.json()["status"] == "pending"
    assert draft.json()["numbers"] == {
        "planned": 1,  # visit a4, reassigned to a commissioner of 广西大学
        "completed": 0,
        "households_reached": 0,
        "consultations": 0,
        "trainees": 0,
        "books": 0,
        "activities_scheduled": 0,
        "activities_held": 0,
        "participants": 0,
        "exhibits_submitted": 3,
        "exhibits_accepted": 2,
        "exhibits_confirmed": 1,
        "exhibits_placed": 1,
        "area_used_dm2": 900,
    }
    for other in ("gxmu", "nosuch", NANNING):  # another unit, no unit, a city: all look alike
        assert (await client.get(f"/api/v1/summaries/{other}", headers=gxu)).status_code == 404
    assert (await client.get("/api/v1/summaries/Bad%20Code", headers=admin)).status_code == 422
    assert (await client.get("/api/v1/dashboard", headers=gxu)).status_code == 403

    edit = {**gxu, "If-Match": draft.headers["etag"]}
    text = {"narrative": "广西大学参展科技抗疫成果三项。"}
    assert (await client.put("/api/v1/summaries/gxu", json=text, headers=edit)).status_code == 204
    submitted = await client.post("/api/v1/summaries/gxu/submit", headers={**gxu, "Idempotency-Key": "u-1"})
    assert submitted.json()["status"] == "on_time"
    runtime.clock.fixed = at(10)
    late = await client.post("/api/v1/summaries/gxmu/submit", headers=auth("unit", org="gxmu"))
    assert late.json()["status"] == "late"

    mine = (await client.get("/api/v1/deadlines", headers=gxu)).json()
    assert mine["cities"] == [] and [(r["unit_code"], r["status"]) for r in mine["units"]] == [("gxu", "on_time")]
    board = (await client.get("/api/v1/deadlines", headers=admin)).json()
    assert len(board["units"]) == 5 and board["unit_rates"] == {"completeness": 2 / 5, "timeliness": 1 / 5}
    assert board["completeness"] == 0  # the cities' rates are their own

    province = (await client.get("/api/v1/summaries/province", headers=admin)).json()
    units = {u["unit_code"]: u for u in province["units"]}
    assert units["gxu"]["narrative"] == text["narrative"] and units["gxu"]["numbers"]["exhibits_accepted"] == 2
    assert "广西科学院总结未提交" in units["gxas"]["narrative"]
