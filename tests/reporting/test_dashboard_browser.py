"""The dashboard in headless Chromium: it shows the numbers the API returns and updates after a new event."""

from typing import Any

import httpx
from playwright.async_api import Browser, Page

from services.reporting.main import create_app
from tests.browser import artifact, served
from tests.reporting import scenario
from tests.reporting.conftest import publish, settled


async def shown(page: Page, selector: str) -> str:
    return (await page.locator(selector).inner_text()).strip()


async def test_dashboard_shows_the_api_numbers_and_updates_live(settings_for: Any, auth: Any, browser: Browser) -> None:
    admin = auth("admin")
    async with served(create_app(settings_for("reporting", reporting_stream_poll_s=0.2))) as (runtime, url):
        events = scenario.all_events()
        await publish(runtime, events)
        await settled(runtime, len(events), len(events))
        async with httpx.AsyncClient() as client:
            api = (await client.get(f"{url}/api/v1/dashboard", headers=admin)).json()
        guilin = next(c for c in api["cities"] if c["city_code"] == scenario.GUILIN)
        context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        try:
            page = await context.new_page()
            token = admin["Authorization"].removeprefix("Bearer ")
            await page.goto(f"{url}/dashboard#token={token}")
            completed = "#headline b[data-metric=completed]"
            await page.wait_for_function(
                f"document.querySelector('{completed}').textContent === '{api['totals']['completed']}'"
            )
            assert await shown(page, "#headline [data-metric=visitors]") == str(api["totals"]["visitors"]) == "3"
            assert await shown(page, "#headline [data-metric=bookings]") == "2"
            row = f"#cities tr[data-key='{scenario.GUILIN}']"
            assert await shown(page, f"{row} [data-metric=completed]") == str(guilin["completed"])
            assert await shown(page, f"{row} [data-metric=exhibits_submitted]") == str(guilin["exhibits_submitted"])
            assert await page.locator("#calendar tbody tr").count() == len(api["calendar"]) == 3
            assert await page.locator("#city-chart canvas").count() == 1  # ECharts drew from the vendored file

            await publish(runtime, [scenario.completed("a-new", scenario.GUILIN, (1, 1, 1, 1))])
            await page.wait_for_function(
                f"document.querySelector(\"{row} [data-metric=completed]\").textContent === '{guilin['completed'] + 1}'"
            )
            assert await shown(page, completed) == str(api["totals"]["completed"] + 1)
            assert await shown(page, "#live") == "实时更新：已连接"
            await page.screenshot(path=artifact("dashboard.png"), full_page=True)  # to look at
        finally:
            await context.close()
