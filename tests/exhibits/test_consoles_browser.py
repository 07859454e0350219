"""The exhibits consoles in headless Chromium against the real service, broker and database, with reporting.

One journey through the three consoles: the office invites an exhibitor; the exhibitor (on a phone) drafts an
exhibit, attaches a picture and submits it; two reviewers score it (the second sees the first's scores only after
their own); the office accepts it, lets the allocator propose, moves it to another booth on the map and releases;
the exhibitor sees the decision and the booth; the public catalogue and reporting's exhibit figures show it.
Screenshots of each console are kept (tests/browser.artifact); each console's first-load size is printed.
"""

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.async_api import Browser, Page

from services.exhibits.main import create_app
from services.reporting.main import create_app as reporting_app
from shared.testing import eventually
from tests.browser import PHONE, artifact, served
from tests.registration.test_apps_browser import first_load_kb

Auth = Callable[..., dict[str, str]]
TZ = "Asia/Shanghai"
TITLE = "负压救护车智能监护系统"
CRITERIA = ("advancement", "show_value", "physical", "relevance")


def token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def picture(path: Path) -> Path:
    image = Image.new("RGB", (640, 420), (40, 110, 170))
    out = io.BytesIO()
    image.save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


async def pick(page: Page, select_id: str, option: str) -> None:
    """Choose `option` in the Element Plus select holding `#select_id`."""
    await page.locator(".el-select", has=page.locator(f"#{select_id}")).click()
    await page.get_by_role("option", name=option, exact=True).click()


async def draft_and_submit(page: Page, link: str, photo: Path) -> None:
    await page.goto(link)
    await page.locator("#new-exhibit").click()
    await page.fill("input[name=title]", TITLE)
    await pick(page, "zone", "2 科技抗疫成果")
    await page.fill("textarea[name=summary]", "车载生命体征监护与负压舱环境监测，数据实时回传医院。")
    await page.fill("input[name=video_url]", "https://v.example.cn/ambulance")
    await page.locator(".el-switch", has=page.locator("#physical")).click()
    await page.fill("input[name=footprint]", "8")
    await page.fill("input[name=power]", "1")
    await page.locator("#save-draft").click()
    await page.locator("#media").wait_for()
    await page.fill("input[name=caption]", "救护车监护屏")
    await page.set_input_files("#file", photo)
    await page.locator("#media .file", has_text="救护车监护屏").wait_for()
    await page.screenshot(path=artifact("exhibitor-draft.png"), full_page=True)
    await page.locator("#save-submit").click()
    await page.locator(".exhibit", has_text=TITLE).locator(".status", has_text="已提交").wait_for()


async def review(page: Page, url: str, reviewer: str, stars: int, comment: str) -> None:
    await page.goto(f"{url}/review/#token={reviewer}")
    await page.locator("#queue .queue-row", has_text=TITLE).click()
    hidden = page.locator("#hidden-until-mine")
    await hidden.wait_for()  # nobody's scores before my own review is in
    assert await page.locator("#reviews").count() == 0
    for criterion in CRITERIA:
        await page.locator(f"[data-criterion={criterion}] .el-rate__item").nth(stars - 1).click()
    await page.fill("textarea[name=comment]", comment)
    await page.locator("#weighted", has_text=f"{stars:.2f}").wait_for()
    await page.locator("#send-review").click()
    await page.locator("#reviews", has_text="（我）").wait_for()


async def test_an_exhibit_from_invitation_to_the_released_map_the_catalogue_and_reporting(
    settings_for: Any, auth: Auth, browser: Browser, tmp_path: Path
) -> None:
    started = time.monotonic()
    exhibits_settings = settings_for("exhibits", public_rate_limit="100000/minute")
    async with (
        served(reporting_app(settings_for("reporting"))) as (_, reporting_url),
        served(create_app(exhibits_settings)) as (_, url),
        httpx.AsyncClient(base_url=url) as client,
    ):
        admin = auth("admin", sub="office-li")
        desk = await browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN", timezone_id=TZ)
        phone = await browser.new_context(**PHONE, locale="zh-CN", timezone_id=TZ)  # type: ignore[arg-type]
        try:
            office = await desk.new_page()
            await office.goto(f"{url}/office/#token={token(admin)}")
            await office.get_by_role("tab", name="展商邀请").click()
            await office.fill("input[name=invite-label]", "广西大学 李老师")
            await pick(office, "invite-org", "广西大学（gxu）")
            await pick(office, "invite-city", "南宁")
            await office.locator("#create-invite").click()
            link = await office.locator("#invite-link").input_value(timeout=10_000)
            assert "/exhibitor/#invite=" in link
            print(f"\nfirst load /office/: {await first_load_kb(office)} KB")
            await office.screenshot(path=artifact("office-invitation.png"), full_page=True)

            exhibitor = await phone.new_page()
            await draft_and_submit(exhibitor, link, picture(tmp_path / "monitor.png"))
            print(f"first load /exhibitor/: {await first_load_kb(exhibitor)} KB")
            await exhibitor.screenshot(path=artifact("exhibitor-submitted.png"), full_page=True)
            listed = (await client.get("/api/v1/submissions", headers=admin)).json()["items"]
            exhibit_id = next(s["id"] for s in listed if s["title"] == TITLE)
            assert [(s["org_id"], s["city_code"], len(s["media"])) for s in listed] == [("gxu", "450100", 1)]

            for reviewer in ("rev-a", "rev-b"):
                assigned = await client.put(f"/api/v1/reviewers/{reviewer}", json={"zones": [2]}, headers=admin)
                assert assigned.status_code == 200
            reviewing = await desk.new_page()
            await review(reviewing, url, token(auth("reviewer", sub="rev-a")), 5, "演示效果好")
            print(f"first load /review/: {await first_load_kb(reviewing)} KB")
            await reviewing.close()
            reviewing = await desk.new_page()  # rev-b sees nothing of rev-a's review before scoring
            await review(reviewing, url, token(auth("reviewer", sub="rev-b")), 4, "可以录用")
            assert await reviewing.locator("#reviews .el-table__row").count() == 2
            assert await reviewing.locator("#reviews", has_text="演示效果好").count() == 1  # A's, seen by B now
            await reviewing.screenshot(path=artifact("review-scored.png"), full_page=True)

            await office.get_by_role("tab", name="申报与决定").click()
            row = office.locator("#submissions .el-table__row", has_text=TITLE)
            await row.locator(".el-checkbox").click()
            await row.locator("td", has_text="4.50").wait_for()  # the mean of the two weighted scores
            await office.screenshot(path=artifact("office-decisions.png"), full_page=True)
            await office.locator("#bulk-accept").click()
            await row.wait_for(state="detached")  # accepted: out of the queue of undecided ones

            await office.get_by_role("tab", name="展位图").click()
            await office.locator("#propose").click()
            proposed = office.locator(f"[data-booth='2E01'][data-exhibit='{exhibit_id}']")
            await proposed.wait_for(state="attached")
            await office.locator(f"#exhibit-list li[data-id='{exhibit_id}']").click()
            await office.locator("[data-booth='2H01'] rect").click()  # no power there: the API refuses the move
            await office.locator(".el-message", has_text=f"「{TITLE}」: 展位 2H01").wait_for()
            await office.locator("[data-booth='2E05'] rect").click()
            await office.locator(f"[data-booth='2E05'][data-exhibit='{exhibit_id}']").wait_for(state="attached")
            await office.screenshot(path=artifact("office-map.png"), full_page=True)

            await office.get_by_role("tab", name="发布").click()
            await office.fill("textarea[name=changelog]", "首版布展方案")
            await office.locator("#release").click()
            await office.locator("#releases", has_text="首版布展方案 (+1 −0 ↔0)").wait_for()
            await office.screenshot(path=artifact("office-releases.png"), full_page=True)

            await exhibitor.reload()
            card = exhibitor.locator(".exhibit", has_text=TITLE)
            await card.locator(".booth", has_text="2E05").wait_for()
            await card.locator(".confirm").click()
            await card.locator(".status", has_text="已确认参展").wait_for()
            await exhibitor.screenshot(path=artifact("exhibitor-booth.png"), full_page=True)
        finally:
            await desk.close()
            await phone.close()

        public = (await client.get(f"/api/v1/catalogue/{exhibit_id}")).json()
        assert (public["title"], public["booth_id"]) == (TITLE, "2E05")
        found = (await client.get("/api/v1/catalogue", params={"q": "救护车"})).json()["items"]
        assert [i["id"] for i in found] == [exhibit_id]
        page = await client.get(f"/expo/exhibits/{exhibit_id}")
        assert TITLE in page.text and "2E05" in page.text

        async with httpx.AsyncClient(base_url=reporting_url) as reports:

            async def exhibit_figures() -> dict[str, int]:
                totals = (await reports.get("/api/v1/dashboard", headers=admin)).json()["totals"]
                assert (totals["exhibits_accepted"], totals["exhibits_placed"]) == (1, 1)
                return totals

            totals = await eventually(exhibit_figures, timeout_s=20)
            assert totals["exhibits_submitted"] == totals["exhibits_confirmed"] == 1
    print(f"journey: {time.monotonic() - started:.1f} s")
