"""The commissioners' field app in a phone-sized headless Chromium, against the real service, broker and database.

Enrolled by its QR link, it does a whole visit offline (accept, a far check-in, the report with a photo,
check-out), survives a reload without signal, drains its queue when back online (applied once, even when the
same queue is flushed twice), and a revoked phone is told so and writes nothing.
"""

import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image
from playwright.async_api import BrowserContext, Page, expect

from services.reporting.main import create_app as reporting_app
from services.volunteers.main import create_app as volunteers_app
from services.volunteers.service.photos import FILES
from services.volunteers.store import ASSIGNMENTS, FLAGS, SYNC_OPS
from shared.app import Runtime
from shared.testing import eventually, outbox_events
from tests.browser import artifact, served
from tests.conftest import today
from tests.volunteers.conftest import Auth, commissioner, village

CITY = "450100"
VILLAGE = {"lat": 23.16, "lon": 108.27}
FAR = {"latitude": 23.21, "longitude": 108.27, "accuracy": 25}  # ~5.6 km north of the village


@dataclass
class Field:
    runtime: Runtime
    url: str
    client: httpx.AsyncClient
    assignment_id: str
    link: str
    enrolment_id: str


@asynccontextmanager
async def field_service(settings_for: Callable[..., Any], auth: Auth) -> AsyncIterator[Field]:
    """Volunteers on a real port with one commissioner, a village of three households and a visit today."""
    settings = settings_for("volunteers", volunteers_missed_check_s=0, volunteers_enrolment_cache_s=0)
    async with served(volunteers_app(settings)) as (runtime, url), httpx.AsyncClient(base_url=url) as client:
        admin = auth("admin")
        day = today().isoformat()
        person = commissioner("fc-1", name="韦特派", available_dates=[day])
        assert (await client.put("/api/v1/commissioners/fc-1", json=person, headers=admin)).status_code == 200
        place = village("fv-1", name="那马村", **VILLAGE)
        assert (await client.put("/api/v1/villages/fv-1", json=place, headers=admin)).status_code == 200
        for n, head in enumerate(["韦小宝", "黄大爷", "农阿姨"], 1):
            body = {"id": f"fv-1-h{n}", "village_code": "fv-1", "head_name": head, "needs": ["种植"]}
            assert (await client.put(f"/api/v1/households/fv-1-h{n}", json=body, headers=admin)).status_code == 200
        visit = {
            "commissioner_id": "fc-1",
            "city_code": CITY,
            "village_code": "fv-1",
            "visit_date": day,
            "household_ids": ["fv-1-h1", "fv-1-h2"],
            "planned_activities": ["柑橘病虫害防治咨询"],
        }
        created = await client.post("/api/v1/assignments", json=visit, headers=admin)
        assert created.status_code == 201, created.text
        enrolled = await client.post(
            "/api/v1/enrolments", json={"commissioner_id": "fc-1"}, headers=auth("city", city=CITY)
        )
        assert enrolled.status_code == 201, enrolled.text
        yield Field(runtime, url, client, created.json()["id"], enrolled.json()["link"], enrolled.json()["id"])


async def open_enrolled(phone: BrowserContext, field: Field) -> tuple[Page, float]:
    """Open the QR link; return the page once my visits are listed, and the first load's size in KB."""
    await phone.grant_permissions(["geolocation"], origin=field.url)
    await phone.set_geolocation(FAR)
    page = await phone.new_page()
    page.on("pageerror", lambda e: print("pageerror:", e))
    await page.goto(field.link)
    await expect(page.locator(f"[data-visit='{field.assignment_id}']")).to_contain_text("那马村")
    await page.wait_for_load_state("networkidle")
    size = await page.evaluate(
        """() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
                 .reduce((sum, e) => sum + e.decodedBodySize, 0)"""
    )
    assert "#enrol=" not in page.url  # the credential left the address bar
    return page, size / 1024


async def settled_screenshot(page: Page, name: str, full_page: bool = False) -> None:
    """A screenshot once toasts are gone and dialogs have finished moving in."""
    await expect(page.locator(".van-toast")).to_be_hidden(timeout=4000)
    await page.wait_for_timeout(350)
    await page.screenshot(path=artifact(name), full_page=full_page)


async def pending(page: Page) -> int:
    return int(await page.locator("#pending-count").inner_text())


def photo_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), (40, 140, 60)).save(out, "JPEG", quality=90)
    return out.getvalue()


async def do_the_visit_offline(page: Page, field: Field) -> None:
    await page.locator(f"[data-visit='{field.assignment_id}']").click()
    await page.get_by_role("button", name="接受").click()
    await expect(page.locator("#visit-status")).to_have_text("已接受")
    await page.get_by_role("button", name="签到").click()
    dialog = page.locator(".van-dialog")
    await expect(dialog).to_contain_text("超出 3.0 公里范围")
    await expect(dialog).to_contain_text("会被标记")
    await settled_screenshot(page, "field-far-check-in.png")
    await dialog.get_by_role("button", name="仍然签到").click()
    await expect(page.locator("#visit-status")).to_have_text("已签到")
    await expect(page.locator("#check-in")).to_contain_text("定位精度 ±25 米")

    await page.get_by_role("button", name="填写报告").click()
    await page.locator(".van-cell", has_text="本村其他农户").click()  # met on the day: not assigned, same village
    await page.locator("#consultations input").fill("6")
    await page.locator("#trainees input").fill("12")
    await page.locator("input[name='book-title-0']").fill("柑橘栽培技术")
    await page.locator("#book-count-0 input").fill("8")
    await page.locator("textarea[name='notes']").fill("讲解柑橘黄龙病防治，群众反映需要更多种苗。")
    await page.locator("#photo-input").set_input_files(
        files=[{"name": "visit.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg()}]
    )
    await expect(page.locator(".photo img")).to_have_count(1)
    await settled_screenshot(page, "field-report.png", full_page=True)
    await page.locator("#submit-report").click()
    await expect(page.locator("#visit-status")).to_have_text("已完成")
    await page.get_by_role("button", name="签退").click()
    await page.locator(".van-dialog").get_by_role("button", name="仍然签退").click()
    await expect(page.locator("#pending-count")).to_have_text("5")  # accept, check-in, photo, report, check-out


async def test_a_whole_visit_offline_syncs_once_when_back_online(
    settings_for: Callable[..., Any], auth: Auth, phone: BrowserContext
) -> None:
    async with (
        served(reporting_app(settings_for("reporting"))) as (_, reporting_url),
        field_service(settings_for, auth) as field,
    ):
        page, first_load_kb = await open_enrolled(phone, field)
        print(f"\nfield app first load: {first_load_kb:.0f} KB (uncompressed bodies, API answers included)")
        await page.screenshot(path=artifact("field-visits.png"))
        await page.evaluate("navigator.serviceWorker.ready")
        await page.wait_for_function("navigator.serviceWorker.controller !== null")

        await phone.set_offline(True)
        await do_the_visit_offline(page, field)
        assert await pending(page) >= 4
        await page.reload()  # no signal: the service worker serves the app, IndexedDB still holds the queue
        await expect(page.locator("#pending-count")).to_have_text("5")
        await expect(page.locator(f"[data-visit='{field.assignment_id}']")).to_contain_text("已完成")
        await expect(page.locator(".syncbar")).to_contain_text("离线")
        await settled_screenshot(page, "field-offline-queue.png")
        await page.evaluate("async () => { window.__lost = await window.fieldApp.queue().all(); }")

        await phone.set_offline(False)  # the app flushes by itself when the connection returns
        await expect(page.locator("#pending-count")).to_have_text("0", timeout=15000)
        await check_completed_once(field, reporting_url)

        # the phone never saw those answers (a lost response): the same queue goes again, under the same ids
        await page.evaluate(
            """async () => { const q = window.fieldApp.queue();
                for (const e of window.__lost) await q.db.put('ops', e); }"""
        )
        await page.locator("#sync-now").click()
        await expect(page.locator("#pending-count")).to_have_text("0")
        await page.get_by_text("同步记录", exact=True).last.click()
        await expect(page.locator(".log [data-outcome=duplicate]")).to_have_count(4)
        await settled_screenshot(page, "field-sync-log.png", full_page=True)
        await check_completed_once(field, reporting_url)
        assert await field.runtime.db[SYNC_OPS].count_documents({}) == 4


async def check_completed_once(field: Field, reporting_url: str) -> None:
    db = field.runtime.db
    doc = await db[ASSIGNMENTS].find_one({"_id": field.assignment_id})
    assert doc is not None and doc["status"] == "completed" and doc["report_version"] == 1
    report = doc["report"]
    assert report["households_reached"] == ["fv-1-h1", "fv-1-h2", "fv-1-h3"]
    assert (report["consultations"], report["people_trained"], report["books_handed_out"]) == (6, 12, 8)
    assert [p["kind"] for p in doc["positions"]] == ["check_in", "check_out"]
    [photo_id] = report["photo_ids"]
    stored = await db[FILES].find_one({"_id": f"{field.assignment_id}/{photo_id}"})
    assert stored is not None and stored["length"] < 400_000  # downscaled on the phone
    completed = len(await outbox_events(db, "volunteers.visit.completed.v1"))
    assert completed == 1
    flags = [f["flag"] async for f in db[FLAGS].find({"assignment_id": field.assignment_id})]
    assert flags.count("geofence") == 2  # the far check-in and check-out, accepted and flagged

    async with httpx.AsyncClient(base_url=reporting_url) as reporting:

        async def counted() -> dict[str, Any] | None:
            progress = (await reporting.get("/api/v1/progress")).json()
            return progress if progress["completed"] >= 1 else None

        progress = await eventually(counted, timeout_s=20)
    city = next(c for c in progress["cities"] if c["city_code"] == CITY)
    assert (progress["completed"], city["completed"], city["households_reached"]) == (1, 1, 3)


async def test_a_revoked_phone_is_told_so_and_writes_nothing(
    settings_for: Callable[..., Any], auth: Auth, phone: BrowserContext
) -> None:
    async with field_service(settings_for, auth) as field:
        page, _ = await open_enrolled(phone, field)
        revoked = await field.client.post(
            f"/api/v1/enrolments/{field.enrolment_id}/revoke", headers=auth("city", city=CITY)
        )
        assert revoked.status_code == 200
        await phone.set_offline(True)
        await page.locator(f"[data-visit='{field.assignment_id}']").click()
        await page.get_by_role("button", name="接受").click()
        await expect(page.locator("#pending-count")).to_have_text("1")
        await phone.set_offline(False)
        await expect(page.locator("#revoked")).to_contain_text("本机已不再登记", timeout=15000)
        await expect(page.locator("#revoked")).to_contain_text("协调员已撤销本机的登记")
        await expect(page.locator("#revoked .kept")).to_contain_text("1")
        await settled_screenshot(page, "field-revoked.png")
        await page.reload()
        await expect(page.locator("#revoked")).to_contain_text("本机已不再登记")
        doc = await field.runtime.db[ASSIGNMENTS].find_one({"_id": field.assignment_id})
        assert doc is not None and doc["status"] == "planned"
        assert await field.runtime.db[SYNC_OPS].count_documents({}) == 0


async def test_the_app_is_served_revalidated_with_relative_urls(settings_for: Callable[..., Any]) -> None:
    async with served(volunteers_app(settings_for("volunteers", volunteers_missed_check_s=0))) as (_, url):
        async with httpx.AsyncClient(base_url=url) as client:
            for path in ("/app/", "/app/sw.js", "/app/manifest.json", "/app/app.js", "/app/icons/icon-512.png"):
                response = await client.get(path)
                assert response.status_code == 200, path
                assert response.headers["cache-control"] == "no-cache" and response.headers.get("etag"), path
            page = (await client.get("/app/")).text
            assert 'src="../vendor/vue@3.5.45/' in page and "http://" not in page
            assert '"../api/v1"' in (await client.get("/app/app.js")).text


async def test_a_coordinators_newer_change_is_shown_and_the_report_is_not_dropped(
    settings_for: Callable[..., Any], auth: Auth, phone: BrowserContext
) -> None:
    async with field_service(settings_for, auth) as field:
        page, _ = await open_enrolled(phone, field)
        await phone.set_geolocation({"latitude": 23.1601, "longitude": 108.2702, "accuracy": 10})
        await phone.set_offline(True)
        await page.locator(f"[data-visit='{field.assignment_id}']").click()
        await page.get_by_role("button", name="接受").click()
        await page.get_by_role("button", name="签到").click()
        await expect(page.locator("#visit-status")).to_have_text("已签到")
        await page.get_by_role("button", name="填写报告").click()
        await page.locator("#consultations input").fill("4")
        await page.locator("#submit-report").click()
        await expect(page.locator("#pending-count")).to_have_text("3")

        cancelled = await field.client.post(  # meanwhile the coordinator calls the visit off
            f"/api/v1/assignments/{field.assignment_id}/cancel",
            json={"reason": "暴雨封路"},
            headers={**auth("city", city=CITY), "If-Match": "*"},
        )
        assert cancelled.status_code == 200, cancelled.text
        await phone.set_offline(False)
        await expect(page.locator("#pending-count")).to_have_text("0", timeout=15000)
        await expect(page.locator("#attention")).to_contain_text("3 条记录需要您查看")
        await page.locator("#attention").click()
        conflict = page.locator(".attention[data-outcome=conflict]")
        await expect(conflict).to_contain_text("没有丢失")
        await expect(page.locator(".attention[data-outcome=rejected]")).to_have_count(2)
        await settled_screenshot(page, "field-conflict.png", full_page=True)
        doc = await field.runtime.db[ASSIGNMENTS].find_one({"_id": field.assignment_id})
        assert doc is not None and doc["status"] == "cancelled"
        assert [c["report"]["consultations"] for c in doc["conflicts"]] == [4]  # kept for the coordinator
        assert await field.runtime.db[FLAGS].count_documents({"flag": "conflict"}) == 1
        await conflict.get_by_role("button", name="知道了").click()
        await expect(page.locator(".attention")).to_have_count(2)
