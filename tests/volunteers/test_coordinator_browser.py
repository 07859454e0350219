"""The city coordinators' console (/coordinator/) in headless Chromium against the real service, broker and database:
an import refused for one bad row (nothing written, the row's error shown) then a good file, the auto-planner's
preview committed, a far check-in flag resolved with a note, a visit reassigned and another cancelled. Screenshots
of each screen go to the test artifacts; the console's first-load size is printed."""

import time
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from services.volunteers.main import create_app
from services.volunteers.store import ASSIGNMENTS, COMMISSIONERS, FLAGS, VILLAGES
from tests.browser import artifact, served
from tests.registration.test_apps_browser import first_load_kb
from tests.volunteers.conftest import Auth

CITY = "450100"
DESKTOP: dict[str, Any] = {
    "viewport": {"width": 1366, "height": 800},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
VILLAGES_HEADER = "code,name,county,city_code,lat,lon,needs"
VILLAGE_ROWS = [
    "v-1,那马村,武鸣区,450100,23.16,108.27,种植;养殖",
    "v-2,板新村,武鸣区,450100,23.18,108.30,种植",
    "v-3,古岭村,宾阳县,450100,23.22,108.81,电商",
]
PEOPLE = (
    "id,name,phone,city_code,county,expertise,available_dates,max_visits_per_day,base_lat,base_lon\n"
    "c-1,黄志强,13800000001,450100,武鸣区,种植;养殖,2020-08-24;2020-08-25,2,23.16,108.27\n"
    "c-2,李梅,13800000002,450100,宾阳县,电商;种植,2020-08-25;2020-08-26,2,23.22,108.81\n"
)


def csv_file(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


async def check_then_import(page: Page, kind: str, name: str, text: str) -> None:
    await page.locator("#import-kind").get_by_text(kind).click()
    await page.set_input_files("#import-file", files=[csv_file(name, text)])  # type: ignore[list-item]
    await page.locator("#import-check").click()
    await page.locator("#import-preview").wait_for()
    await page.locator("#import-commit").click()
    await page.locator("#import-status", has_text="导入完成").wait_for()


async def test_a_coordinator_imports_plans_resolves_and_reassigns(
    settings_for: Any, auth: Auth, browser: Browser
) -> None:
    started = time.monotonic()
    settings = settings_for("volunteers", volunteers_missed_check_s=0)
    async with served(create_app(settings)) as (runtime, url):
        token = auth("city", sub="coord-nn", city=CITY)["Authorization"].removeprefix("Bearer ")
        context = await browser.new_context(**DESKTOP)
        try:
            page = await context.new_page()
            await page.goto(f"{url}/coordinator/#token={token}")
            await page.locator("#tabs").wait_for()
            assert "#token" not in page.url  # the token left the address bar (kept in this tab's sessionStorage)

            # a file with one bad row: nothing written, the row's error shown
            await page.locator("#import-kind").get_by_text("村屯").click()
            bad = [*VILLAGE_ROWS[:1], "v-9,坏村,武鸣区,450100,north,108.2,种植", *VILLAGE_ROWS[1:]]
            await page.set_input_files("#import-file", files=[csv_file("村屯.csv", "\n".join([VILLAGES_HEADER, *bad]))])  # type: ignore[list-item]
            await page.locator("#import-check").click()
            errors = page.locator("#import-errors")
            await errors.wait_for()
            assert "3" in await errors.locator("tbody tr").first.inner_text()  # line 3 of the file
            assert "lat" in await errors.inner_text()
            assert await page.locator("#import-commit").is_disabled()
            assert await runtime.db[VILLAGES].count_documents({}) == 0
            print(f"\nfirst load /coordinator/: {await first_load_kb(page)} KB")
            await page.screenshot(path=artifact("coordinator-import-errors.png"), full_page=True)

            # then good files, with the import's progress
            await check_then_import(page, "村屯", "村屯.csv", "\n".join([VILLAGES_HEADER, *VILLAGE_ROWS]))
            await page.screenshot(path=artifact("coordinator-import-done.png"), full_page=True)
            await check_then_import(page, "科技特派员", "特派员.csv", PEOPLE)
            assert await runtime.db[VILLAGES].count_documents({}) == 3
            assert await runtime.db[COMMISSIONERS].count_documents({}) == 2

            # the planner's preview as a table and by day, then commit
            await page.get_by_role("tab", name="自动排班").click()
            await page.locator("#plan-preview").click()
            rows = page.locator("#plan-table tbody tr")
            await rows.first.wait_for()
            proposed = await rows.count()
            assert proposed >= 3 and "黄志强" in await page.locator("#plan-table").inner_text()
            await page.screenshot(path=artifact("coordinator-plan-table.png"), full_page=True)
            await page.locator("#plan-view").get_by_text("按日期").click()
            await page.locator("#plan-days .day-group").first.wait_for()
            assert "2020-08-24" in await page.locator("#plan-days").inner_text()
            await page.screenshot(path=artifact("coordinator-plan-days.png"), full_page=True)
            await page.locator("#plan-commit").click()
            await page.get_by_text(f"已安排 {proposed} 项走访").wait_for()
            assert await runtime.db[ASSIGNMENTS].count_documents({"status": "planned"}) == proposed

            # a far check-in from the field raises a flag, resolved here with a note
            visit = await runtime.db[ASSIGNMENTS].find_one({"commissioner_id": "c-1"}, sort=[("_id", 1)])
            phone = auth("volunteer", sub="c-1")
            async with httpx.AsyncClient(base_url=url) as client:
                far = {"lat": 23.40, "lon": 108.27, "accuracy_m": 15}  # ~25 km from the village
                checked = await client.post(f"/api/v1/assignments/{visit['_id']}/check-in", json=far, headers=phone)
                assert checked.status_code == 200, checked.text
            await page.get_by_role("tab", name="核实标记").click()
            await page.reload()  # the flag arrived after the console loaded
            await page.get_by_role("tab", name="核实标记 (1)").click()
            await page.locator("#flag-kinds").get_by_text("超范围签到 1").click()
            await page.locator("#flag-kinds .is-active", has_text="超范围签到").wait_for()
            await page.locator("#flags", has_text="黄志强").wait_for()
            await page.screenshot(path=artifact("coordinator-flags.png"), full_page=True)
            await page.locator("#flags .resolve").first.click()
            await page.fill("textarea[name=resolve-note]", "电话核实：山区定位偏差")
            await page.locator("#resolve-confirm").click()
            await page.locator("#flags", has_text="没有待处理的标记").wait_for()
            flag = await runtime.db[FLAGS].find_one({"assignment_id": visit["_id"], "flag": "geofence"})
            assert flag["resolved"] and flag["resolution"] == "电话核实：山区定位偏差"

            # reassign one visit to the other commissioner, cancel another
            await page.get_by_role("tab", name="走访安排").click()
            other = await runtime.db[ASSIGNMENTS].find_one({"commissioner_id": "c-1", "status": "planned"})
            row = page.locator("#visits tbody tr", has_text=other["visit_date"]).filter(has_text="黄志强")
            await row.filter(has_text="已安排").first.locator(".reassign").click()
            await page.locator("#reassign-person").click()
            await page.get_by_role("option", name="李梅（c-2）").click()
            await page.fill("input[name=reassign-date]", "2020-08-26")  # a day she is free
            await page.locator("#reassign-confirm").click()
            await page.get_by_text("已改派").wait_for()
            moved = await runtime.db[ASSIGNMENTS].find_one({"_id": other["_id"]})
            assert (moved["commissioner_id"], moved["visit_date"]) == ("c-2", "2020-08-26")
            assert moved["version"] == other["version"] + 1
            await page.locator("#visits tbody tr .cancel").first.click()
            await page.locator(".el-message-box input").fill("村里临时有事")
            await page.get_by_role("button", name="确定").click()
            await page.locator("#visits", has_text="已取消").wait_for()
            assert (
                await runtime.db[ASSIGNMENTS].count_documents({"status": "cancelled", "cancel_reason": "村里临时有事"})
                == 1
            )
            await page.screenshot(path=artifact("coordinator-visits.png"), full_page=True)

            # the phones: enrol one, the printable sheet
            await page.get_by_role("tab", name="手机登记").click()
            await page.locator("#enrol-person").click()
            await page.get_by_role("option", name="黄志强（c-1）").click()
            await page.locator("#enrol-one").click()
            assert "#enrol=" in await page.locator("#enrol-link").input_value(timeout=10_000)
            await page.wait_for_function("document.querySelector('#enrolment img').naturalWidth > 0")
            await page.screenshot(path=artifact("coordinator-enrol.png"), full_page=True)
            await page.get_by_role("tab", name="任务数与进度").click()
            await page.locator("#quotas", has_text="南宁").wait_for()
            await page.screenshot(path=artifact("coordinator-quotas.png"), full_page=True)
        finally:
            await context.close()
    print(f"coordinator journey: {time.monotonic() - started:.1f} s")
