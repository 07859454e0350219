"""The registration apps in headless Chromium against the real service, broker and database.

Public booking pages (/book/), the operators' portal (/operator/) and the door scanner (/door/): each test
saves screenshots of the main screens (tests/browser.artifact) and prints the app's first-load size.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page

from services.registration.main import create_app
from services.registration.store import BOOKINGS
from tests.browser import PHONE, artifact, served
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


async def test_public_books_once_waits_and_sees_the_offer(registration_settings: Any, auth: Auth, phone: BrowserContext) -> None:
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
            await page.locator(".mine .state.confirmed").first.wait_for()
            assert await page.locator(".mine .state.confirmed").count() == 2


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
            await page.fill("input[name=day-date]", (today() + timedelta(days=2)).isoformat())
            await page.locator("#add-session").click()
            await page.locator("#add-session").click()
            await page.locator("#create-day").click()
            publish = page.locator("#days .publish")
            await publish.click()
            await page.locator("#days", has_text="已发布").wait_for()
            await page.screenshot(path=artifact("operator-opendays.png"), full_page=True)

            public = await operator.new_page()
            await public.goto(f"{url}/book/")
            day = public.locator(".day", has_text="青秀科技馆")
            await day.wait_for()
            await day.click()
            await public.locator(".session").nth(1).wait_for()
            assert await public.locator(".session").count() == 2
        finally:
            await desk.close()
            await operator.close()
