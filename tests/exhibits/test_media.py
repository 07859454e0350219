"""Exhibit photos in GridFS: checked by content and size, retried safely, public once the exhibit is on show."""

import io

import httpx
from PIL import Image

from shared.app import Runtime
from tests.exhibits.conftest import Flow, exhibit

Service = tuple[Runtime, httpx.AsyncClient]


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


PNG = png(40, 30)
SIZES = {"original_width": 40, "original_height": 30, "width": 40, "height": 30}


async def test_upload_checked_idempotent_and_served_publicly_after_acceptance(exhibits: Service, flow: Flow) -> None:
    runtime, client = exhibits
    created = await flow.create({**exhibit("红树林生态修复"), "submit": False})
    url = f"/api/v1/submissions/{created['id']}/media/photo-1"
    files = {"file": ("p.png", PNG, "image/png")}
    first = await client.put(url, files=files, headers=flow.org("gxu"))
    again = await client.put(url, files=files, headers=flow.org("gxu"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["media"] == [
        {"id": "photo-1", "content_type": "image/png", "size": len(PNG), "caption": "", "sizes": SIZES}
    ]
    fake = await client.put(
        f"/api/v1/submissions/{created['id']}/media/photo-2",
        files={"file": ("x.png", b"MZ not an image", "image/png")},
        headers=flow.org("gxu"),
    )
    assert fake.status_code == 415 and fake.json()["code"] == "unsupported_media_type"
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * runtime.settings.exhibits_media_max_bytes
    too_big = await client.put(
        f"/api/v1/submissions/{created['id']}/media/photo-3", files={"file": ("b.png", big)}, headers=flow.org("gxu")
    )
    assert too_big.status_code == 413
    other_org = await client.put(url, files=files, headers=flow.org("gxmu"))
    assert other_org.status_code == 404

    public = f"/api/v1/catalogue/{created['id']}/media/photo-1"
    assert (await client.get(public)).status_code == 404  # not on show yet
    await client.post(f"/api/v1/submissions/{created['id']}/submit", headers=flow.org("gxu"))
    assert (await flow.decide(created["id"], "accepted", force=True)).status_code == 200
    shown = await client.get(public)
    assert shown.status_code == 200 and shown.content == PNG and shown.headers["content-type"] == "image/png"
