"""The registration apps in headless Chromium against the real service, broker and database.

Public booking pages (/book/), the operators' portal (/operator/) and the door scanner (/door/): each test
saves screenshots of the main screens (tests/browser.artifact) and prints the app's first-load size.
"""

from collections.abc import Callable
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page

from services.registration.main import create_app
from services.registration.store import BOOKINGS
from tests.browser import artifact, served
from tests.registration.conftest import Venue, approved_venue, booking_body, published_openday

Auth = Callable[..., dict[str, str]]


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
