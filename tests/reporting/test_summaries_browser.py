"""The summary editor (/summaries/) in headless Chromium against the real service, broker and database: a city
coordinator writes in two tabs, the second tab's autosave meets the first's version (412) and shows both, the merge
is saved, a picture added, the summary submitted before the deadline; the deadline board and the PDF preview; the
office grants a locked city an exception from the same screen. Screenshots go to the test artifacts."""

import io
import time
from datetime import UTC, datetime
from typing import Any

from PIL import Image
from playwright.async_api import Browser, Page

from services.reporting import store
from services.reporting.main import create_app
from tests.browser import artifact, served
from tests.registration.test_apps_browser import first_load_kb
from tests.reporting import scenario
from tests.reporting.conftest import publish, settled

NANNING, WUZHOU = "450100", "450400"
DESKTOP: dict[str, Any] = {
    "viewport": {"width": 1366, "height": 800},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 60, 40)).save(out, "PNG")
    return out.getvalue()


async def editor(page: Page, url: str, token: str) -> None:
    await page.goto(f"{url}/summaries/#token={token}")
    await page.locator("#editor").wait_for()


async def test_two_tabs_conflict_is_merged_then_the_summary_is_submitted(
    settings_for: Any, auth: Any, browser: Browser
) -> None:
    started = time.monotonic()
    async with served(create_app(settings_for("reporting"))) as (runtime, url):
        visits = scenario.visits()
        await publish(runtime, visits)
        await settled(runtime, len(visits), len(visits))
        runtime.clock.fixed = datetime(2020, 9, 7, 4, tzinfo=UTC)  # the day before the cities' deadline
        token = auth("city", sub="coord-nn", city=NANNING)["Authorization"].removeprefix("Bearer ")
        context = await browser.new_context(**DESKTOP)
        try:
            first, second = await context.new_page(), await context.new_page()
            await editor(first, url, token)
            print(f"\nfirst load /summaries/: {await first_load_kb(first)} KB")
            await editor(second, url, token)  # both tabs read the same version
            assert await first.locator("#numbers").inner_text() != ""
            assert "完成走访" in await first.locator("#numbers").inner_text()

            await first.fill("textarea[name=narrative]", "南宁市完成走访任务。")
            await first.locator("#save-state", has_text="已保存").wait_for()
            await second.fill("textarea[name=narrative]", "南宁市培训农民。")
            dialog = second.locator("#conflict-dialog")
            await dialog.wait_for()
            assert "南宁市完成走访任务。" in await second.locator("#theirs").inner_text()
            assert "南宁市培训农民。" in await second.locator("#mine").inner_text()
            doc = await runtime.db[store.SUMMARIES].find_one({"_id": f"city:{NANNING}"})
            assert doc["narrative"] == "南宁市完成走访任务。"  # nothing overwritten while the person decides
            await second.screenshot(path=artifact("summaries-conflict.png"), full_page=True)
            merged = "南宁市完成走访任务。\n南宁市培训农民。"
            assert await second.locator("textarea[name=merged]").input_value() == merged  # both, to edit
            await second.fill("textarea[name=merged]", merged)
            await second.locator("#save-merged").click()
            await second.locator("#save-state", has_text="已保存").wait_for()
            doc = await runtime.db[store.SUMMARIES].find_one({"_id": f"city:{NANNING}"})
            assert doc["narrative"] == merged

            await second.set_input_files(
                "#picture-file", files=[{"name": "走访.png", "mimeType": "image/png", "buffer": png()}]
            )
            await second.wait_for_function(
                "document.querySelector('#pictures img') && document.querySelector('#pictures img').naturalWidth > 0"
            )
            await second.fill(
                "textarea[name=narrative]", merged + "\n发放图书。"
            )  # saved after the picture bumped the version
            await second.locator("#save-state", has_text="已保存").wait_for()
            await second.locator("#submit").click()
            await second.get_by_role("button", name="确定").click()
            await second.locator("#summary-status", has_text="按时").wait_for()
            doc = await runtime.db[store.SUMMARIES].find_one({"_id": f"city:{NANNING}"})
            assert doc["narrative"].endswith("发放图书。") and len(doc["pictures"]) == 1 and doc["submitted_at"]
            await second.screenshot(path=artifact("summaries-editor.png"), full_page=True)

            async with second.expect_response(lambda r: r.url.endswith(f"{NANNING}.pdf")) as answer:
                await second.locator("#pdf-preview").click()
            response = await answer.value
            assert response.status == 200 and response.headers["content-type"] == "application/pdf"
            assert (await second.locator("#pdf").get_attribute("src") or "").startswith("blob:")
            await second.wait_for_timeout(500)  # the browser's PDF viewer draws
            await second.screenshot(path=artifact("summaries-pdf.png"))

            await second.get_by_role("tab", name="截止看板").click()
            await second.locator("#board tbody tr", has_text="南宁市").filter(has_text="按时").wait_for()
            assert await second.locator("#board tbody tr").count() == 1  # a coordinator sees their own city
        finally:
            await context.close()

        runtime.clock.fixed = datetime(2020, 9, 20, 4, tzinfo=UTC)  # past the lock
        admin = auth("admin")["Authorization"].removeprefix("Bearer ")
        office = await browser.new_context(**DESKTOP)
        try:
            page = await office.new_page()
            await editor(page, url, admin)
            await page.get_by_role("tab", name="截止看板").click()
            row = page.locator("#board tbody tr", has_text="梧州市")
            await row.filter(has_text="已锁定").filter(has_text="缺交").wait_for()
            assert await page.locator("#board tbody tr").count() >= 14
            await row.locator(".grant").click()
            await page.fill("input[name=grant-until]", "2020-09-25T18:00")
            await page.locator("#grant-confirm").click()
            await row.filter(has_text="2020/9/25").wait_for()
            doc = await runtime.db[store.SUMMARIES].find_one({"_id": f"city:{WUZHOU}"})
            assert doc["exception_until"].replace(tzinfo=UTC) == datetime(2020, 9, 25, 10, tzinfo=UTC)
            await page.wait_for_timeout(500)  # the dialog's closing animation
            await page.screenshot(path=artifact("summaries-board.png"), full_page=True)
        finally:
            await office.close()
    print(f"summaries journey: {time.monotonic() - started:.1f} s")
