"""The public activity calendar (活动日历), server-rendered at /calendar/, and an iCalendar feed per city."""

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from jinja2 import Environment

from services.registration.service import calendar
from shared.app import Runtime, RuntimeDep
from shared.http import PublicRateLimit
from shared.pages import cached, public_base, render, root_of, site_link, templates
from shared.problems import STATUS_OF_KIND
from shared.rules import RuleViolation

pages = APIRouter(prefix="/calendar", include_in_schema=False)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
Choice = Annotated[str, Query(max_length=40)]


@cache
def _env() -> Environment:
    return templates(TEMPLATES)


def _page(request: Request, rt: Runtime, status_code: int = 200, **context: Any) -> Response:
    frame = {
        "site": {"name": rt.programme.name, "theme": rt.programme.theme, "archived": False},
        "root": root_of(request),
        "links": {
            "expo": site_link(request, rt.settings, "expo/"),
            "calendar": site_link(request, rt.settings, "calendar/"),
            "book": site_link(request, rt.settings, "book/"),
        },
        "section": "calendar",
    }
    return cached(request, render(_env(), "calendar.html", **frame, **context), status_code=status_code)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None  # a hand-edited address shows the whole week rather than an error


@pages.get("/")
async def calendar_page(
    request: Request, rt: RuntimeDep, _: PublicRateLimit, city: Choice = "", type: Choice = "", day: Choice = ""
) -> Response:
    """活动日历：按日期与城市，可筛选 / The week's activities by day and city, with filters."""
    chosen = {"city": city if re.fullmatch(r"\d{6}", city) else "", "type": type, "day": day}
    try:
        found = await calendar.calendar(rt, chosen["city"] or None, type or None, _day(day))
    except RuleViolation as exc:
        status = STATUS_OF_KIND[exc.kind]
        return _page(request, rt, status, error=exc.message, chosen=chosen, groups=[], days=[], cities=[], types=[])
    return _page(request, rt, chosen=chosen, **found)


@pages.get("/{feed}.ics")
async def city_feed(feed: str, request: Request, rt: RuntimeDep, _: PublicRateLimit) -> Response:
    """一个城市活动的日历订阅（all：全区）/ The iCalendar feed of one city's activities ("all": every city)."""
    page = f"{public_base(request, rt.settings)}/calendar/"
    city = None if feed == "all" else feed
    try:
        body = await calendar.city_feed(rt, city, page if city is None else f"{page}?city={city}")
    except RuleViolation as exc:
        return Response(exc.message, status_code=STATUS_OF_KIND[exc.kind], media_type="text/plain; charset=utf-8")
    disposition = f'inline; filename="sciweek-{feed}.ics"'
    return cached(
        request, body, media_type="text/calendar; charset=utf-8", headers={"Content-Disposition": disposition}
    )
