"""The public activity calendar (活动日历): what a city schedules appears on the page and in its .ics feed."""

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import BrowserContext

from services.registration.domain.calendar import fold
from services.registration.main import create_app
from tests.browser import artifact, served
from tests.registration.conftest import CITY, today

Auth = Callable[..., dict[str, str]]


def unfolded(ics: str) -> list[str]:
    """The feed's content lines (RFC 5545 folding undone)."""
    return ics.replace("\r\n ", "").split("\r\n")


async def test_activity_added_by_a_city_is_on_the_calendar_and_in_its_feed(
    registration_settings: Callable[..., Any], auth: Auth, phone: BrowserContext
) -> None:
    day = today()
    async with served(create_app(registration_settings())) as (_, base), httpx.AsyncClient(base_url=base) as client:
        nanning, guilin = auth("city", city=CITY), auth("city", city="450300")
        lecture = {
            "city_code": CITY,
            "activity_type": "policy_lecture",
            "title": "创新驱动发展政策宣讲会",
            "date": day.isoformat(),
            "start_time": "09:30",
            "end_time": "11:30",
            "place": "南宁市科技局三楼报告厅",
            "organiser": "南宁市科学技术局",
            "expected_participants": 120,
        }
        created = await client.post("/api/v1/activities", json=lecture, headers=nanning)
        assert created.status_code == 201, created.text
        online = {
            "city_code": CITY,
            "activity_type": "grassroots",
            "title": "科普直播：病毒与疫苗",
            "date": (day + timedelta(days=1)).isoformat(),
            "online_url": "https://live.example.cn/kepu",
        }
        assert (await client.post("/api/v1/activities", json=online, headers=nanning)).status_code == 201
        other = {
            "city_code": "450300",
            "activity_type": "matchmaking",
            "title": "桂林成果对接会",
            "date": day.isoformat(),
        }
        assert (await client.post("/api/v1/activities", json=other, headers=guilin)).status_code == 201
        backwards = await client.post("/api/v1/activities", json={**lecture, "end_time": "08:00"}, headers=nanning)
        assert backwards.status_code == 422 and backwards.json()["code"] == "end_before_start"

        page = await client.get("/calendar/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for text in ("创新驱动发展政策宣讲会", "南宁市科技局三楼报告厅", "09:30", "南宁市科学技术局", "桂林成果对接会"):
            assert text in page.text, text
        assert 'href="https://live.example.cn/kepu"' in page.text
        only_nanning = (await client.get("/calendar/", params={"city": CITY})).text
        assert "创新驱动发展政策宣讲会" in only_nanning and "桂林成果对接会" not in only_nanning
        assert 'href="../calendar/450100.ics"' in only_nanning
        assert "桂林成果对接会" not in (await client.get("/calendar/", params={"type": "policy_lecture"})).text
        assert (await client.get("/calendar/", params={"city": "999999"})).status_code == 404

        feed = await client.get(f"/calendar/{CITY}.ics")
        assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
        lines = unfolded(feed.text)
        assert lines[0] == "BEGIN:VCALENDAR" and lines.count("BEGIN:VEVENT") == 2 and "桂林" not in feed.text
        assert "SUMMARY:【创新政策宣讲】创新驱动发展政策宣讲会" in lines
        assert f"DTSTART:{day:%Y%m%d}T013000Z" in lines and f"DTEND:{day:%Y%m%d}T033000Z" in lines  # 09:30 +08:00
        assert "LOCATION:南宁市科技局三楼报告厅" in lines and "URL:https://live.example.cn/kepu" in lines
        assert f"DTSTART;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}" in lines  # no time: all day
        assert all(len(line.encode()) <= 75 for line in feed.text.split("\r\n"))
        assert (await client.get("/calendar/nosuch.ics")).status_code == 404

        held = await client.post(
            f"/api/v1/activities/{created.json()['id']}/outcome",
            json={"status": "held", "participants": 150},
            headers={**nanning, "If-Match": created.headers["ETag"]},
        )
        assert held.status_code == 200, held.text
        assert "活动成效：参与 150 人" in (await client.get("/calendar/")).text
        again = await client.get(f"/calendar/{CITY}.ics")
        assert again.headers["etag"] != feed.headers["etag"] and "SEQUENCE:1" in unfolded(again.text)
        assert any(line.startswith("DESCRIPTION:") and "参与 150 人" in line for line in unfolded(again.text))
        fresh = await client.get("/calendar/", headers={"If-None-Match": page.headers["etag"]})
        assert fresh.status_code == 200  # the outcome changed the page
        unchanged = await client.get("/calendar/", headers={"If-None-Match": fresh.headers["etag"]})
        assert unchanged.status_code == 304

        view = await phone.new_page()
        started = time.perf_counter()
        await view.goto(f"{base}/calendar/?city={CITY}", wait_until="load")
        loaded_ms = (time.perf_counter() - started) * 1000
        size = await view.evaluate(
            """() => performance.getEntriesByType("navigation")[0].transferSize
                + performance.getEntriesByType("resource").reduce((n, r) => n + r.transferSize, 0)"""
        )
        fcp = await view.evaluate(
            """() => new Promise((found) => {
                new PerformanceObserver((list) => {
                    const paint = list.getEntriesByName("first-contentful-paint")[0];
                    if (paint) found(paint.startTime);
                }).observe({ type: "paint", buffered: true });
                setTimeout(() => found(null), 5000);
            })"""
        )
        measured = f"{size / 1000:.1f} KB; first contentful paint {fcp:.0f} ms; load {loaded_ms:.0f} ms"
        print(f"\n[calendar page, phone 390x844@2x, cold cache] {measured}")
        weekday = "一二三四五六日"[day.weekday()]
        assert await view.locator("h2").first.inner_text() == f"{day.month}月{day.day}日 周{weekday}"
        await view.screenshot(path=artifact("calendar-phone.png"), full_page=True)


def test_long_lines_fold_between_characters() -> None:
    line = "SUMMARY:" + "科技活动周" * 10
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
