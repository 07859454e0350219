"""Exports: XLSX of every dashboard table; PDF of the city and provincial summaries."""

from fastapi import APIRouter, Response
from gridfs.errors import NoFile

from services.reporting import dashboard, exports, summaries
from services.reporting.api.access import Admin, CityCode, Reader, check_city
from services.reporting.api.summaries import compiled_cities
from services.reporting.clock import NowDep
from services.reporting.domain.projection import PROVINCE, city_scope
from shared.app import RuntimeDep
from shared.media import bucket

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/dashboard.xlsx")
async def dashboard_xlsx(rt: RuntimeDep, principal: Reader, now: NowDep) -> Response:
    """全部表格（XLSX）/ Every dashboard table as one workbook (a city coordinator gets their city's rows)."""
    data = await dashboard.dashboard(rt, principal, now) | {"city_days": await dashboard.city_days(rt, principal)}
    return _download(exports.xlsx_of_dashboard(data), XLSX, f"sciweek-{now:%Y%m%d-%H%M}.xlsx")


@router.get("/summaries/province.pdf")
async def provincial_pdf(rt: RuntimeDep, principal: Admin, now: NowDep) -> Response:
    """省级总结 PDF / The provincial summary as PDF."""
    summary = await summaries.view(rt, PROVINCE, now)
    body = exports.provincial_pdf(rt.programme.name, summary, await compiled_cities(rt, now))
    return _download(body, "application/pdf", "province-summary.pdf")


@router.get("/summaries/{city_code}.pdf")
async def city_pdf(rt: RuntimeDep, principal: Reader, now: NowDep, city_code: CityCode) -> Response:
    """市级总结 PDF / A city's summary as PDF, with its pictures."""
    check_city(principal, city_code, {c.code for c in rt.programme.cities})
    scope = city_scope(city_code)
    summary = await summaries.view(rt, scope, now)
    pictures = []
    for picture_id in summary["pictures"]:
        try:
            stream = await bucket(rt.db).open_download_stream(f"{scope}/{picture_id}")
        except NoFile:
            continue
        pictures.append(await stream.read())
    name = next(c.name for c in rt.programme.cities if c.code == city_code)
    return _download(
        exports.city_pdf(rt.programme.name, name, summary, pictures), "application/pdf", f"{city_code}-summary.pdf"
    )
