"""Exports: XLSX of every dashboard table; PDF of the city, unit and provincial summaries."""

from fastapi import Response
from gridfs.errors import NoFile

from services.reporting.api.access import AuthorCode, author_of
from services.reporting.domain.projection import PROVINCE
from services.reporting.service import dashboard, exports, summaries
from shared.app import NowDep, RuntimeDep, api_router
from shared.auth import Admin, Coordinator, SummaryAuthor
from shared.media import bucket

router = api_router("/exports", tags=["exports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/dashboard.xlsx")
async def dashboard_xlsx(rt: RuntimeDep, principal: Coordinator, now: NowDep) -> Response:
    """全部表格（XLSX）/ Every dashboard table as one workbook (a city coordinator gets their city's rows)."""
    data = await dashboard.dashboard(rt, principal, now) | {"city_days": await dashboard.city_days(rt, principal)}
    return _download(exports.xlsx_of_dashboard(data), XLSX, f"sciweek-{now:%Y%m%d-%H%M}.xlsx")


@router.get("/summaries/province.pdf")
async def provincial_pdf(rt: RuntimeDep, principal: Admin, now: NowDep) -> Response:
    """省级总结 PDF / The provincial summary as PDF."""
    summary = await summaries.view(rt, PROVINCE, now)
    cities = await summaries.compiled(rt, now, summaries.cities(rt))
    units = await summaries.compiled(rt, now, summaries.units(rt))
    body = exports.provincial_pdf(rt.programme.name, summary, cities, units)
    return _download(body, "application/pdf", "province-summary.pdf")


@router.get("/summaries/{code}.pdf")
async def author_pdf(rt: RuntimeDep, principal: SummaryAuthor, now: NowDep, code: AuthorCode) -> Response:
    """市级或单位总结 PDF / A city's or unit's summary as PDF, with its pictures."""
    author = author_of(rt, principal, code)
    scope = author.scope
    summary = await summaries.view(rt, scope, now)
    pictures = []
    for picture_id in summary["pictures"]:
        try:
            stream = await bucket(rt.db).open_download_stream(f"{scope}/{picture_id}")
        except NoFile:
            continue
        pictures.append(await stream.read())
    return _download(
        exports.summary_pdf(rt.programme.name, author.name, summary, pictures), "application/pdf", f"{code}-summary.pdf"
    )
