"""Exports: every dashboard table as XLSX (openpyxl); the city, unit and provincial summaries as PDF (reportlab)."""

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.reporting.domain.labels import LABELS, STATUS, TABLE_COUNTERS
from shared.tabular import xlsx_bytes

# Real CJK fonts (Debian fonts-wqy-microhei, fonts-noto-cjk); embedded so any viewer renders the text.
CJK_FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)


def xlsx_of_dashboard(data: dict[str, Any]) -> bytes:
    """One sheet per dashboard table, with Chinese / English headers."""
    counters = [LABELS[c] for c in TABLE_COUNTERS]
    sheets: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]] = {
        "全省 province": (["指标 / metric", "数值 / value"], [[LABELS[c], data["totals"][c]] for c in TABLE_COUNTERS]),
        "城市 cities": (
            ["城市代码 / code", "城市 / city", "配额 / quota", *counters, "总结 / summary"],
            [
                [c["city_code"], c["name"], c["quota"], *(c[k] for k in TABLE_COUNTERS), c["summary"]]
                for c in data["cities"]
            ],
        ),
        "每日 days": (["日期 / date", *counters], [[d["date"], *(d[k] for k in TABLE_COUNTERS)] for d in data["days"]]),
        "城市每日 city days": (
            ["城市代码 / code", "城市 / city", "日期 / date", *counters],
            [[r["city_code"], r["name"], r["date"], *(r[k] for k in TABLE_COUNTERS)] for r in data["city_days"]],
        ),
        "展区 zones": (
            ["展区 / zone", "名称 / name", "预算 m² / budget", "已用 m² / used", *counters],
            [
                [z["id"], z["name"], z["budget_m2"], z["used_m2"], *(z[k] for k in TABLE_COUNTERS)]
                for z in data["zones"]
            ],
        ),
        "目标 targets": (
            [
                "目标 / target",
                "指标 / metric",
                "范围 / scope",
                "目标值 / value",
                "完成 / done",
                "应完成 / expected",
                "落后 / behind",
                "截止 / due",
            ],
            [
                [t["id"], t["metric"], t["scope"], t["value"], t["done"], t["expected"], t["behind"], t["due"]]
                for t in data["targets"]
            ],
        ),
        "活动 activities": (
            ["日期 / date", "城市 / city", "类型 / type", "名称 / title", "状态 / status", "参与 / participants"],
            [
                [a["date"], a["city_code"], a["activity_type"], a["title"], a["status"], a["participants"]]
                for a in data["calendar"]
            ],
        ),
        "截止 deadlines": (
            ["代码 / code", "名称 / name", "截止 / due", "状态 / status", "锁定 / locked", "提交 / submitted"],
            [_deadline_row(d) for d in data["deadlines"]],
        ),
    }
    return xlsx_bytes(sheets)


def _deadline_row(d: dict[str, Any]) -> list[Any]:
    code = d.get("city_code") or d.get("unit_code")
    return [code, d["name"], d["due"], d["status"], d["locked"], _when(d["submitted_at"])]


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else ""


_configured: list[tuple[str, int]] = []  # SCIWEEK_REPORTING_PDF_FONT, tried before the Debian fonts


def prefer_font(path: Path | None) -> None:
    """Try this TrueType/OpenType font (its first face) before the known CJK fonts."""
    _configured[:] = [(str(path), 0)] if path else []
    cjk_font.cache_clear()


def known_fonts() -> list[tuple[str, int]]:
    """The CJK fonts tried in order (the configured one first)."""
    return [*_configured, *CJK_FONTS]


@cache
def cjk_font() -> str:
    """The name of a registered font that covers Chinese (an embedded TrueType font if one is installed)."""
    for path, index in known_fonts():
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont("CJK", path, subfontIndex=index))
            return "CJK"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # not embedded: the viewer must supply it
    return "STSong-Light"


def _styles() -> dict[str, ParagraphStyle]:
    font = cjk_font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=26, spaceAfter=8, wordWrap="CJK"),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=13, leading=20, spaceBefore=10, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK"),
    }


def _numbers_table(numbers: dict[str, int]) -> Table:
    rows = [["指标 / metric", "数值 / value"], *([LABELS.get(k, k), str(v)] for k, v in numbers.items())]
    table = Table(rows, colWidths=[120 * mm, 40 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), cjk_font()),
                ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dbe7f3")),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ]
        )
    )
    return table


def _paragraphs(text: str, style: ParagraphStyle) -> list[Any]:
    return [Paragraph(escape(line), style) for line in text.splitlines() if line.strip()] or [Paragraph("—", style)]


def _header(summary: dict[str, Any], styles: dict[str, ParagraphStyle]) -> list[Any]:
    state = STATUS[summary["status"]] + ("，已锁定 / locked" if summary["locked"] else "")
    submitted = (
        summary["submitted_at"].strftime("%Y-%m-%d %H:%M UTC") if summary["submitted_at"] else "未提交 / not submitted"
    )
    line = f"截止 / due {summary['due']} · 状态 / status: {state} · 提交 / submitted: {submitted}"
    return [Paragraph(escape(line), styles["body"])]


def summary_pdf(programme_name: str, author_name: str, summary: dict[str, Any], pictures: list[bytes]) -> bytes:
    """A city's or unit's summary: its numbers, its narrative and its pictures."""
    s = _styles()
    story: list[Any] = [Paragraph(escape(f"{programme_name} {author_name}工作总结"), s["title"])]
    story += _header(summary, s)
    story += [Paragraph("一、主要数据 / Key figures", s["h2"]), _numbers_table(summary["numbers"])]
    story += [Paragraph("二、工作总结 / Narrative", s["h2"]), *_paragraphs(summary["narrative"], s["body"])]
    if pictures:
        story.append(Paragraph("三、图片 / Pictures", s["h2"]))
        for picture in pictures:
            story += [
                Image(io.BytesIO(picture), width=120 * mm, height=80 * mm, kind="proportional"),
                Spacer(1, 4 * mm),
            ]
    return _render(story)


def provincial_pdf(
    programme_name: str, summary: dict[str, Any], cities: list[dict[str, Any]], units: list[dict[str, Any]]
) -> bytes:
    """The provincial summary: province-wide numbers, then each city's and unit's summary or a placeholder."""
    s = _styles()
    story: list[Any] = [Paragraph(escape(f"{programme_name} 全区工作总结"), s["title"])]
    story += _header(summary, s)
    story += [Paragraph("一、全区主要数据 / Province-wide figures", s["h2"]), _numbers_table(summary["numbers"])]
    story += [Paragraph("二、总体情况 / Narrative", s["h2"]), *_paragraphs(summary["narrative"], s["body"])]
    story.append(Paragraph("三、各市总结 / City summaries", s["h2"]))
    for city in cities:
        title = f"{city['name']}（{STATUS[city['status']]}）· 完成走访 {city['numbers']['completed']}"
        story += [Paragraph(escape(title), s["h2"]), *_paragraphs(city["narrative"], s["body"])]
    if units:
        story.append(Paragraph("四、有关单位总结 / Supporting units' summaries", s["h2"]))
    for unit in units:
        title = f"{unit['name']}（{STATUS[unit['status']]}）· 入选展项 {unit['numbers']['exhibits_accepted']}"
        story += [Paragraph(escape(title), s["h2"]), *_paragraphs(unit["narrative"], s["body"])]
    return _render(story)


def _render(story: list[Any]) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm)
    doc.build(story)
    return out.getvalue()
