"""The registration apps in headless Chromium against the real service, broker and database.

Public booking pages (/book/), the operators' portal (/operator/) and the door scanner (/door/): each test
saves screenshots of the main screens (tests/browser.artifact) and prints the app's first-load size.
"""

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, expect

from services.registration.main import create_app
from services.registration.store import BOOKINGS
from services.reporting.main import create_app as reporting_app
from shared.testing import eventually
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, PHONE, artifact, served
from tests.conftest import today
from tests.registration.conftest import CITY, approved_venue, booking_body, published_openday

Auth = Callable[..., dict[str, str]]
TZ_NAME = "Asia/Shanghai"


async def first_load_kb(page: Page) -> float:
    """What the page fetched to show itself (document, scripts, styles, images, first API answers), in KB."""
    total = await page.evaluate(
        "() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]"
        ".reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)"
    )
    return round(float(total) / 1024, 1)


async def fits_the_phone(page: Page, *shown: str) -> None:
    """Each text is on screen (not scrolled or clipped away) and the page does not scroll sideways."""
    for text in shown:
        await expect(page.get_by_text(text).first).to_be_in_viewport()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def quiet(page: Page) -> None:
    """Element Plus toasts closed, so a screenshot shows the page."""
    await page.evaluate("ElementPlus.ElMessage.closeAll()")
    await expect(page.locator(".el-message")).to_have_count(0)


async def test_public_books_once_waits_and_sees_the_offer(
    registration_settings: Any, auth: Auth, phone: BrowserContext
) -> None:
    async with served(create_app(registration_settings())) as (runtime, url):
        async with httpx.AsyncClient(base_url=url) as client:
            venue = await approved_venue(client, auth, address="南宁市青秀区民族大道")
            openday = await published_openday(client, venue, capacities=(5, 1), price_policy="free")
            small = openday["sessions"][1]["session_id"]
            first = await client.post("/api/v1/public/bookings", json=booking_body(small, phone="13900000001"))
            assert first.status_code == 201

            page = await phone.new_page()
            await page.goto(f"{url}/book/")
            await page.locator(f".day[data-id='{openday['id']}']").wait_for()
            print(f"\nfirst load /book/: {await first_load_kb(page)} KB")
            await page.screenshot(path=artifact("book-list.png"), full_page=True)

            await page.locator(f".day[data-id='{openday['id']}']").click()
            await page.locator("#book-form").wait_for()
            await page.fill("input[name=name]", "李四")
            await page.fill("input[name=phone]", "13800138000")
            await page.screenshot(path=artifact("book-day.png"), full_page=True)
            await page.locator("#book").dblclick()
            await page.locator("#booking-status", has_text="预约成功").wait_for()
            await page.wait_for_function("document.querySelector('#ticket-qr').naturalWidth > 0")
            await page.screenshot(path=artifact("book-ticket.png"), full_page=True)
            assert await runtime.db[BOOKINGS].count_documents({"phone": "13800138000"}) == 1

            await page.goto(f"{url}/book/#/day/{openday['id']}")
            await page.locator(f".session[data-session='{small}']", has_text="已满").click()
            await page.fill("input[name=name]", "李四")
            await page.fill("input[name=phone]", "13800138000")
            await page.locator("#join-waitlist").click()
            await page.locator("#booking-status", has_text="候补中").wait_for()

            await client.post(f"/api/v1/public/bookings/{first.json()['code']}/cancel")
            await page.goto(f"{url}/book/#/mine")
            offer = page.locator(".mine .offer-row")
            await offer.wait_for(timeout=15_000)
            await page.screenshot(path=artifact("book-mine-offer.png"), full_page=True)
            await offer.get_by_role("button", name="确认").click()
            await page.wait_for_function("document.querySelectorAll('.mine .state.confirmed').length === 2")


async def test_operator_invited_publishes_two_sessions_seen_by_the_public(
    registration_settings: Any, auth: Auth, browser: Browser
) -> None:
    async with served(create_app(registration_settings())) as (_, url):
        coordinator = auth("city", sub="coord-nn", city=CITY)["Authorization"].removeprefix("Bearer ")
        desk = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", timezone_id=TZ_NAME)
        operator = await browser.new_context(**PHONE, locale="zh-CN", timezone_id=TZ_NAME)  # type: ignore[arg-type]
        try:
            city = await desk.new_page()
            await city.goto(f"{url}/operator/#token={coordinator}")
            await city.get_by_role("tab", name="邀请运营者").click()
            await city.fill("input[name=invite-label]", "青秀科技馆 王老师")
            await city.locator("#create-invite").click()
            link = await city.locator("#invite-link").input_value(timeout=10_000)
            assert "#invite=" in link
            print(f"\nfirst load /operator/: {await first_load_kb(city)} KB")
            await city.screenshot(path=artifact("operator-invitation.png"), full_page=True)

            page = await operator.new_page()
            await page.goto(link)
            await page.locator("#venue-form").wait_for()
            await page.fill("input[name=venue-name]", "青秀科技馆")
            await page.locator(".el-select", has=page.locator("#venue-city")).click()
            await page.get_by_role("option", name="南宁").click()
            await page.fill("input[name=venue-address]", "南宁市青秀区")
            await page.locator("#save-venue").click()
            await page.locator("#venues", has_text="待审核").wait_for()

            await city.reload()
            await city.locator("#pending .approve").first.click()
            await city.locator("#pending", has_text="没有待审核的场馆").wait_for()
            await city.screenshot(path=artifact("operator-review.png"), full_page=True)

            await page.reload()
            await page.locator("#venues", has_text="已通过").wait_for()
            await page.locator("#venues").get_by_role("button", name="开放日").click()
            date = today() + timedelta(days=2)
            await page.fill("input[name=day-date]", date.isoformat())
            await page.locator("#add-session").click()
            await page.locator("#add-session").click()
            await page.locator("#create-day").click()
            publish = page.locator("#days .publish")
            await publish.click()
            await page.locator("#days", has_text="已发布").wait_for()
            weekday = "一二三四五六日"[date.weekday()]
            await fits_the_phone(page, f"{date.month}月{date.day}日 周{weekday}", "09:00–10:00", "已约 0/50")
            await expect(page.locator("#days").get_by_role("button", name="预约名单")).to_be_in_viewport()
            await quiet(page)
            await page.screenshot(path=artifact("operator-opendays.png"), full_page=True)

            public = await operator.new_page()
            await public.goto(f"{url}/book/")
            day = public.locator(".day", has_text="青秀科技馆")
            await day.wait_for()
            await day.click()
            await public.locator(".session").nth(1).wait_for()
            assert await public.locator(".session").count() == 2
            await public.locator(".session").first.click()
            await public.fill("input[name=name]", "李四")
            await public.fill("input[name=phone]", "13800138000")
            await public.locator("#book").click()
            await public.locator("#booking-status", has_text="预约成功").wait_for()

            await page.locator("#days").get_by_role("button", name="预约名单").click()
            await page.locator("#bookings", has_text="李四").wait_for()
            await fits_the_phone(page, "李四", "138****8000", "未入场")
            await page.screenshot(path=artifact("operator-bookings.png"), full_page=True)
        finally:
            await desk.close()
            await operator.close()


def y4m_of(pngs: list[bytes], path: Path, seconds_each: float = 1.2, fps: int = 5) -> Path:
    """A YUV4MPEG2 (4:2:0) video showing each PNG in turn, looped by Chromium's fake camera."""
    width, height = 640, 480
    frames = []
    for png in pngs:
        qr = Image.open(io.BytesIO(png)).convert("RGB")
        qr.thumbnail((height - 20, height - 20))
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(qr, ((width - qr.width) // 2, (height - qr.height) // 2))
        y, cb, cr = canvas.convert("YCbCr").split()
        half = (width // 2, height // 2)
        frames.append(y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes())
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            for _ in range(int(seconds_each * fps)):
                out.write(b"FRAME\n" + frame)
    return path


async def door_page(browser: Browser, video: Path, profile: Path, url: str) -> tuple[BrowserContext, Page]:
    """The door app in a Chromium whose camera films `video` (a profile kept across launches: IndexedDB)."""
    flags = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    context = await browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_FLAGS + flags,
        locale="zh-CN",
        timezone_id=TZ_NAME,
        **PHONE,
    )
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(url)
    return context, page


async def next_result(page: Page) -> tuple[str, str]:
    """The next scan's verdict and who it was (then the operator taps to go on)."""
    result = page.locator("#result")
    await result.wait_for(timeout=15_000)
    word, who = await result.locator(".word").inner_text(), await result.locator(".who").inner_text()
    return word, who


async def test_door_scans_the_camera_offline_and_counts_each_person_once(
    registration_settings: Any, settings_for: Any, auth: Auth, browser: Browser, tmp_path: Path
) -> None:
    async with (
        served(reporting_app(settings_for("reporting"))) as (_, reporting_url),
        served(create_app(registration_settings())) as (runtime, url),
        httpx.AsyncClient(base_url=url) as client,
    ):
        venue = await approved_venue(client, auth, tracks_exit=True)
        openday = await published_openday(client, venue, day=today(), capacities=(50,))
        session_id = openday["sessions"][0]["session_id"]
        people = {"甲": 2, "乙": 1, "丙": 3}
        tickets = {}
        for i, (name, party) in enumerate(people.items()):
            body = {**booking_body(session_id, phone=f"1360000000{i}", party_size=party), "name": name}
            made = await client.post("/api/v1/public/bookings", json=body)
            assert made.status_code == 201, made.text
            tickets[name] = made.json()
        pngs = {
            n: (await client.get(f"/api/v1/public/bookings/{t['code']}/qr.png")).content for n, t in tickets.items()
        }
        token = venue.operator["Authorization"].removeprefix("Bearer ")
        door_url = f"{url}/door/#token={token}"

        context, page = await door_page(
            browser, y4m_of([pngs["甲"]], tmp_path / "a.y4m"), tmp_path / "profile", door_url
        )
        try:
            assert await next_result(page) == ("通过", "甲 · 2 人")
            print(f"\nfirst load /door/: {await first_load_kb(page)} KB")
            await page.screenshot(path=artifact("door-pass.png"))
            await page.locator("#result").click()
            assert (await next_result(page))[0] == "重复"
            await page.screenshot(path=artifact("door-again.png"))
        finally:
            await context.close()

        video = y4m_of([pngs["乙"], pngs["丙"]], tmp_path / "bc.y4m")
        context, page = await door_page(browser, video, tmp_path / "profile", f"{url}/door/")
        try:
            await page.locator("#entered", has_text="2").wait_for()
            await page.wait_for_function("navigator.serviceWorker.controller !== null")
            await context.set_offline(True)
            await page.reload()  # no signal at the door: the service worker serves the app, IndexedDB its data
            await page.locator("#entered", has_text="2").wait_for()
            await page.wait_for_function("window.door !== undefined")
            await page.locator("#net", has_text="离线").wait_for()
            passed = set()
            while len(passed) < 2:
                word, who = await next_result(page)
                if word == "通过":
                    passed.add(who)
                await page.locator("#result").click()
            assert passed == {"乙 · 1 人", "丙 · 3 人"}
            assert await page.locator("#waiting").inner_text() == "2"
            assert await page.locator("#entered").inner_text() == "6"
            claims = jwt.decode(tickets["乙"]["ticket"], options={"verify_signature": False})
            forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")
            # the camera keeps scanning: the forged ticket goes in once no frame is being decided
            feed = "async t => { window.door.resume(); return await window.door.handle(t); }"
            for _ in range(50):
                if await page.evaluate(feed, forged):
                    break
            else:
                raise AssertionError("the door never took the forged ticket")
            assert (await next_result(page))[0] == "无效"
            await page.screenshot(path=artifact("door-offline-invalid.png"))
            await page.locator("#result").click()

            await context.set_offline(False)
            await page.evaluate("window.door.sync()")
            await page.locator("#waiting", has_text="0").wait_for()
            await page.locator("#inside", has_text="6").wait_for()
            assert await page.locator("#entered").inner_text() == "6"
            await page.screenshot(path=artifact("door-synced.png"))
        finally:
            await context.close()

        presence = await client.get(f"/api/v1/venues/{venue.id}/presence?date={today()}", headers=venue.operator)
        assert presence.json()["entered"] == 6 == presence.json()["inside"]
        assert await runtime.db[BOOKINGS].count_documents({"checked_in_at": {"$ne": None}}) == 3
        async with httpx.AsyncClient(base_url=reporting_url) as reports:

            async def visitors() -> bool:
                totals = (await reports.get("/api/v1/dashboard", headers=auth("admin"))).json()["totals"]
                return bool(totals["visitors"] == 6)

            await eventually(visitors, timeout_s=20)
