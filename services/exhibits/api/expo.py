"""The cloud exhibition's public pages (云上科技展), server-rendered at /expo/: they work without JavaScript."""

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment

from services.exhibits.service import expo
from services.exhibits.service.catalogue import Filters
from shared.app import Runtime, RuntimeDep
from shared.http import Cursor, PublicRateLimit
from shared.pages import ARCHIVE_CACHE, PAGE_CACHE, cached, public_base, render, root_of, site_link, templates
from shared.problems import STATUS_OF_KIND
from shared.rules import RuleViolation

pages = APIRouter(prefix="/expo", include_in_schema=False)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"  # expo.js, served at /expo/static/
Text = Annotated[str, Query(max_length=50)]


@cache
def _env() -> Environment:
    return templates(TEMPLATES)


def _frame(request: Request, rt: Runtime) -> dict[str, Any]:
    """What every page of the site needs: names, relative root, links to the other services' pages."""
    programme = rt.programme
    return {
        "site": {"name": programme.name, "theme": programme.theme, "archived": rt.settings.exhibits_archive},
        "root": root_of(request),
        "links": {
            "expo": site_link(request, rt.settings, "expo/"),
            "calendar": site_link(request, rt.settings, "calendar/"),
            "book": site_link(request, rt.settings, "book/"),
        },
        "section": "expo",
        "base": public_base(request, rt.settings),
    }


def _page(request: Request, rt: Runtime, name: str, status_code: int = 200, **context: Any) -> Response:
    body = render(_env(), name, **_frame(request, rt), **context)
    policy = ARCHIVE_CACHE if rt.settings.exhibits_archive else PAGE_CACHE
    return cached(request, body, cache_control=policy, status_code=status_code)


def _missing(request: Request, rt: Runtime, exc: RuleViolation) -> Response:
    return _page(request, rt, "missing.html", STATUS_OF_KIND[exc.kind], message=exc.message)


def _filters(zone: str, city: str, industry: str, org: str) -> Filters:
    """Filters from a plain form (an empty or malformed choice means "any", never an error page)."""
    return Filters(
        zone=int(zone) if zone.isdigit() else None,
        city_code=city if re.fullmatch(r"\d{6}", city) else None,
        industry=industry or None,
        org_id=org or None,
    )


@pages.get("/")
async def index(
    request: Request,
    rt: RuntimeDep,
    _: PublicRateLimit,
    q: Text = "",
    zone: Text = "",
    city: Text = "",
    industry: Text = "",
    org: Annotated[str, Query(max_length=64)] = "",
    cursor: Cursor = None,
) -> Response:
    """云上科技展首页：展区、检索与筛选 / The cloud exhibition: zones, search and filters."""
    filters = _filters(zone, city, industry, org)
    try:
        found = await expo.listing(rt, q, filters, cursor)
    except RuleViolation as exc:
        return _missing(request, rt, exc)
    return _page(request, rt, "index.html", q=q, filters=filters, **found)


@pages.get("/zones/{zone}")
async def zone_page(
    zone: int, request: Request, rt: RuntimeDep, _: PublicRateLimit, industry: Text = "", cursor: Cursor = None
) -> Response:
    """一个展区的展品 / One zone of Hall D8 and its exhibits."""
    filters = _filters(str(zone), "", industry, "")
    try:
        found = await expo.listing(rt, "", filters, cursor)
    except RuleViolation as exc:
        return _missing(request, rt, exc)
    if zone not in found["names"]["zones"]:
        return _missing(request, rt, RuleViolation("unknown_zone", "没有这个展区 / no such zone", "not_found"))
    return _page(request, rt, "zone.html", zone=zone, q="", filters=filters, **found)


@pages.get("/exhibits/{exhibit_id}")
async def exhibit_page(exhibit_id: str, request: Request, rt: RuntimeDep, _: PublicRateLimit) -> Response:
    """展品页面（图片、视频、介绍、展位与场馆图、分享）/ One exhibit's page."""
    try:
        exhibit = await expo.exhibit(rt, exhibit_id)
    except RuleViolation as exc:
        return _missing(request, rt, exc)
    return _page(request, rt, "exhibit.html", exhibit=exhibit, names=exhibit["names"])


@pages.get("/booths/{booth_id}")
async def booth(booth_id: str, request: Request, rt: RuntimeDep, _: PublicRateLimit) -> Response:
    """展位二维码的地址：转到最新版本中该展位的展品页面 / A booth's QR address: on to its exhibit's page."""
    try:
        exhibit_id = await expo.booth(rt, booth_id)
    except RuleViolation as exc:
        return _missing(request, rt, exc)
    return RedirectResponse(f"../exhibits/{exhibit_id}", status_code=302, headers={"Cache-Control": "no-cache"})


@pages.get("/sitemap.xml")
async def sitemap(request: Request, rt: RuntimeDep, _: PublicRateLimit) -> Response:
    """搜索引擎站点地图 / Every exhibit page, for search engines."""
    base = public_base(request, rt.settings)
    body = render(_env(), "sitemap.xml", base=base, ids=await expo.sitemap(rt))
    return cached(request, body, media_type="application/xml; charset=utf-8")
