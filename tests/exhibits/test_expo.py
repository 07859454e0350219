"""The cloud exhibition's public pages (云上科技展) on a real port, in the system Chromium: search with marked
matches, Open Graph tags without JavaScript, the booth QR code's address, page weight and first render on a phone,
ETags, the phone rendition of a picture made once, and the read-only archive after the week."""

import io
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFilter
from playwright.async_api import Browser, BrowserContext

from services.exhibits.main import create_app
from shared import media
from shared.app import Runtime
from shared.auth import mint_token
from shared.testing import RabbitVhost, make_settings, running_service
from tests.browser import PHONE, artifact, served
from tests.exhibits.conftest import Flow
from tests.exhibits.test_search import CATALOGUE

PAGE_BUDGET = 200_000  # bytes transferred for the first load of an exhibit page on a phone


def photo(seed: int, size: tuple[int, int] = (2400, 1600)) -> bytes:
    """A camera-sized JPEG with shapes and grain, so that its rendition weighs what a real one would."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        r = rng.randrange(40, 400)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    image = image.filter(ImageFilter.GaussianBlur(6))
    grain = Image.effect_noise(size, 24).convert("RGB")
    image = Image.blend(image, grain, 0.12)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class Expo:
    runtime: Runtime
    base: str
    client: httpx.AsyncClient
    flow: Flow
    ids: dict[str, str]
    booth: str
    settings: dict[str, Any]

    def page(self, key: str) -> str:
        return f"{self.base}/expo/exhibits/{self.ids[key]}"


async def seed(flow: Flow, client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    """The search test's catalogue on show; the detection kit with two captioned photos, a video link and a booth."""
    ids = {}
    for key, body in CATALOGUE.items():
        if key != "kit":
            ids[key] = (await flow.accepted(body))["id"]
    kit = {
        **CATALOGUE["kit"],
        "submit": False,
        "summary": "十五分钟出结果的抗原检测。\n适合基层卫生院和口岸快速筛查。",
        "highlights": ["十五分钟出结果", "常温保存"],
        "physical_object": {"footprint_m2": 4},
        "video_url": "https://v.example.cn/kit",
    }
    created = await flow.create(kit)
    for n, caption in ((1, "试剂盒与检测卡"), (2, "基层卫生院现场使用")):
        upload = await client.put(
            f"/api/v1/submissions/{created['id']}/media/photo-{n}",
            files={"file": (f"p{n}.jpg", photo(n), "image/jpeg")},
            data={"caption": caption},
            headers=flow.org("gxu"),
        )
        assert upload.status_code == 201, upload.text
    assert (await client.post(f"/api/v1/submissions/{created['id']}/submit", headers=flow.org("gxu"))).is_success
    assert (await flow.decide(created["id"], "accepted", force=True)).status_code == 200
    ids["kit"] = created["id"]
    proposed = await client.post("/api/v1/allocation/proposals", headers=flow.admin)
    booth = {p["exhibit_id"]: p["booth_id"] for p in proposed.json()["placements"]}[ids["kit"]]
    released = await client.post(
        "/api/v1/allocation/releases", json={}, headers={**flow.admin, "If-Match": proposed.headers["etag"]}
    )
    assert released.status_code == 201, released.text
    return ids, booth


@pytest.fixture(scope="module")
async def expo(mongodb_url: str, vhost: RabbitVhost) -> AsyncIterator[Expo]:
    """One exhibits service on a real port with a seeded catalogue, shared by this module's tests."""
    values = {
        "mongodb_url": mongodb_url,
        "amqp_url": vhost.url,
        "namespace": f"t{uuid.uuid4().hex[:10]}",
        "public_rate_limit": "100000/minute",
    }
    settings = make_settings("exhibits", **values)

    def auth(role: Any, sub: str | None = None, **claims: Any) -> dict[str, str]:
        token = mint_token(settings, role=role, sub=sub or f"test-{role}", **claims)
        return {"Authorization": f"Bearer {token}"}

    async with served(create_app(settings)) as (runtime, base), httpx.AsyncClient(base_url=base) as client:
        flow = Flow(client, auth)
        ids, booth = await seed(flow, client)
        yield Expo(runtime, base, client, flow, ids, booth, values)


async def test_search_marks_the_detection_kits_and_not_inspection_or_monitoring(
    expo: Expo, phone: BrowserContext
) -> None:
    html = (await expo.client.get("/expo/", params={"q": "检测"})).text
    for key in ("kit", "lab"):
        assert f'href="../expo/exhibits/{expo.ids[key]}"' in html, key
    for key in ("herb", "buoy", "beidou"):  # 检验 (inspection) and 监测 (monitoring) are other words
        assert expo.ids[key] not in html, key
    assert "<mark>检测</mark>" in html and "<mark>检验</mark>" not in html

    page = await phone.new_page()  # with JavaScript: results follow the typing, no page load
    await page.goto(f"{expo.base}/expo/")
    await page.get_by_label("搜索展品").fill("检测")
    await page.wait_for_function("document.getElementById('results').textContent.includes('“检测”的搜索结果')")
    shown = await page.locator("#results h3 a").all_inner_texts()
    assert sorted(shown) == sorted([CATALOGUE["kit"]["title"], CATALOGUE["lab"]["title"]])
    assert await page.locator("#results mark").first.inner_text() == "检测"
    assert page.url.endswith("?q=%E6%A3%80%E6%B5%8B&zone=&city=&industry=&org=")
    await page.screenshot(path=artifact("expo-search-phone.png"), full_page=True)


async def test_exhibit_page_has_open_graph_tags_and_renders_without_javascript(expo: Expo, browser: Browser) -> None:
    context = await browser.new_context(**PHONE, java_script_enabled=False, locale="zh-CN")  # type: ignore[arg-type]
    try:
        page = await context.new_page()
        response = await page.goto(expo.page("kit"))
        assert response is not None and response.status == 200

        async def meta(prop: str) -> str | None:
            return await page.locator(f'meta[property="{prop}"]').get_attribute("content")

        assert await meta("og:title") == CATALOGUE["kit"]["title"]
        assert await meta("og:url") == expo.page("kit")
        assert (await meta("og:description") or "").startswith("十五分钟出结果")
        og_image = await meta("og:image")
        assert og_image is not None and og_image.startswith("http") and og_image.endswith("/media/photo-1/small")
        assert (await httpx.AsyncClient().get(og_image)).headers["content-type"] == "image/jpeg"
        assert await meta("og:image:alt") == "试剂盒与检测卡"
        assert await page.title() == f"{CATALOGUE['kit']['title']} · 云上科技展"
        assert await page.locator("h1").inner_text() == CATALOGUE["kit"]["title"]
        assert await page.locator("figure img").first.get_attribute("alt") == "试剂盒与检测卡"
        assert await page.locator("figure img").first.evaluate("img => img.complete && img.naturalWidth") == 800
        assert await page.locator(".hall svg title").text_content() == f"D8 馆平面示意图：展位 {expo.booth} 在展区 2"
        assert await page.locator("#share-url").input_value() == expo.page("kit")
        assert await page.locator('a[href="https://v.example.cn/kit"]').count() == 1
        headings = await page.locator("h1, h2").all_inner_texts()
        assert headings[:3] == [CATALOGUE["kit"]["title"], "视频", "展品介绍"]
        await page.keyboard.press("Tab")  # the first stop is the skip link, then the site's navigation
        assert await page.evaluate("document.activeElement.textContent") == "跳到正文"
        await page.screenshot(path=artifact("expo-exhibit-nojs-phone.png"), full_page=True)
    finally:
        await context.close()


async def test_booth_qr_code_opens_the_same_exhibit_page(expo: Expo, phone: BrowserContext) -> None:
    page = await phone.new_page()
    await page.goto(f"{expo.base}/expo/")
    scanned = await page.evaluate(
        """async (booth) => {
            await new Promise((ok, fail) => {
                const s = document.createElement("script");
                s.src = "../vendor/jsqr@1.4.0/dist/jsQR.js"; s.onload = ok; s.onerror = fail;
                document.head.appendChild(s);
            });
            const img = new Image();
            img.src = `../api/v1/booths/${booth}/qr.png`;
            await img.decode();
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const ctx = canvas.getContext("2d");
            ctx.drawImage(img, 0, 0);
            const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
            return jsQR(pixels.data, canvas.width, canvas.height).data;
        }""",
        expo.booth,
    )
    assert scanned == f"{expo.base}/expo/booths/{expo.booth}"
    at_the_booth = await page.goto(scanned)
    assert at_the_booth is not None and at_the_booth.status == 200
    assert page.url == expo.page("kit")
    booth_title = await page.locator("h1").inner_text()

    await page.goto(f"{expo.base}/expo/?q=试剂盒")  # from home: search, then follow the result
    await page.locator("#results h3 a").first.click()
    await page.wait_for_url(expo.page("kit"))
    assert await page.locator("h1").inner_text() == booth_title == CATALOGUE["kit"]["title"]
    missing = await expo.client.get("/expo/booths/9Z99")
    assert missing.status_code == 404 and "没有找到" in missing.text


async def test_exhibit_page_weight_and_first_render_on_a_phone(expo: Expo, browser: Browser) -> None:
    for name, url in (("exhibit", expo.page("kit")), ("index", f"{expo.base}/expo/")):
        context = await browser.new_context(**PHONE, locale="zh-CN")  # type: ignore[arg-type]
        try:
            page = await context.new_page()  # a cold cache: everything the first visit transfers
            started = time.perf_counter()
            await page.goto(url, wait_until="load")
            loaded_ms = (time.perf_counter() - started) * 1000
            measured = await page.evaluate(
                """async () => {
                    const fcp = await new Promise((found) => {
                        new PerformanceObserver((list) => {
                            const paint = list.getEntriesByName("first-contentful-paint")[0];
                            if (paint) found(paint.startTime);
                        }).observe({ type: "paint", buffered: true });
                        setTimeout(() => found(null), 5000);
                    });
                    const nav = performance.getEntriesByType("navigation")[0];
                    const resources = performance.getEntriesByType("resource");
                    return {
                        html: nav.transferSize,
                        total: nav.transferSize + resources.reduce((n, r) => n + r.transferSize, 0),
                        requests: 1 + resources.length,
                        fcp,
                    };
                }"""
            )
            print(
                f"\n[expo {name} page, phone 390x844@2x, cold cache] {measured['total'] / 1000:.1f} KB in "
                f"{measured['requests']} requests (HTML {measured['html'] / 1000:.1f} KB); first contentful paint "
                f"{measured['fcp']:.0f} ms; load {loaded_ms:.0f} ms"
            )
            assert measured["fcp"] is not None
            assert measured["total"] <= PAGE_BUDGET, measured
            await page.screenshot(path=artifact(f"expo-{name}-phone.png"), full_page=True)
        finally:
            await context.close()


async def test_pages_and_pictures_revalidate_by_etag_and_the_phone_picture_is_made_once(
    expo: Expo, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = expo.client
    first = await client.get("/expo/")
    assert first.headers["cache-control"] == "public, no-cache" and first.headers["etag"].startswith('W/"')
    again = await client.get("/expo/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    exhibit_page = f"/expo/exhibits/{expo.ids['kit']}"
    views = (await client.get(f"/api/v1/catalogue/{expo.ids['kit']}/views")).json()["views"]
    tag = (await client.get(exhibit_page)).headers["etag"]
    assert (await client.get(exhibit_page, headers={"If-None-Match": tag})).status_code == 304
    assert (await client.get(f"/api/v1/catalogue/{expo.ids['kit']}/views")).json()["views"] == views + 2

    zone = await client.get("/expo/zones/2")
    assert (
        zone.status_code == 200
        and CATALOGUE["kit"]["title"] in zone.text
        and CATALOGUE["cane"]["title"] not in zone.text
    )
    assert (await client.get("/expo/zones/9")).status_code == 404
    farming = (await client.get("/expo/zones/3", params={"industry": "现代农业"})).text
    assert CATALOGUE["cane"]["title"] in farming and CATALOGUE["robot"]["title"] not in farming
    assert f"/expo/exhibits/{expo.ids['kit']}</loc>" in (await client.get("/expo/sitemap.xml")).text

    made: list[int] = []
    real = media.downscale

    def counted(image: bytes, width: int = media.RENDITION_WIDTH) -> tuple[bytes, dict[str, int]]:
        made.append(width)
        return real(image, width)

    monkeypatch.setattr(media, "downscale", counted)
    small = f"/api/v1/catalogue/{expo.ids['kit']}/media/photo-2/small"
    files = expo.runtime.db["media.files"]
    rendition = media.rendition_id(f"{expo.ids['kit']}/photo-2")
    assert await files.count_documents({"_id": rendition}) == 1  # made when it was uploaded
    await files.delete_one({"_id": rendition})  # as for a picture uploaded before renditions existed
    await expo.runtime.db["media.chunks"].delete_many({"files_id": rendition})
    replies = [await client.get(small) for _ in range(3)]
    assert made == [800] and await files.count_documents({"_id": rendition}) == 1
    assert {r.status_code for r in replies} == {200} and replies[0].content == replies[2].content
    original = await client.get(f"/api/v1/catalogue/{expo.ids['kit']}/media/photo-2")
    assert len(replies[0].content) < len(original.content) / 4
    assert replies[0].headers["cache-control"] == "public, max-age=86400"
    cached = await client.get(small, headers={"If-None-Match": replies[0].headers["etag"]})
    assert cached.status_code == 304
    sizes = f"original {len(original.content) / 1000:.0f} KB, phone rendition {len(replies[0].content) / 1000:.0f} KB"
    print(f"\n[picture] {sizes}")


async def test_archive_keeps_the_pages_and_refuses_every_write(expo: Expo) -> None:
    archived = make_settings("exhibits", **expo.settings, exhibits_archive=True)
    async with running_service(create_app(archived)) as (_, client):
        page = await client.get(f"/expo/exhibits/{expo.ids['kit']}")
        assert page.status_code == 200 and "本展为存档" in page.text
        assert page.headers["cache-control"] == "public, max-age=3600"
        assert (await client.get("/expo/", params={"q": "检测"})).status_code == 200
        body = {**CATALOGUE["beidou"], "submit": True}
        refused = await client.post("/api/v1/submissions", json=body, headers=expo.flow.org("gxu"))
        assert refused.status_code == 409 and refused.json()["code"] == "catalogue_archived"
        withdraw = await client.post(f"/api/v1/submissions/{expo.ids['kit']}/withdraw", headers=expo.flow.org("gxu"))
        assert withdraw.status_code == 409 and withdraw.headers["content-type"] == "application/problem+json"
        assert (await client.get(f"/api/v1/catalogue/{expo.ids['kit']}")).status_code == 200
