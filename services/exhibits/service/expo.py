"""The cloud exhibition's pages (云上科技展): what each page shows, read from the public catalogue."""

from typing import Any

from services.exhibits.domain.expo import HallMap, excerpt, hall_map, highlight
from services.exhibits.service import catalogue
from services.exhibits.service.catalogue import Filters
from services.exhibits.service.hall import load_booths
from services.exhibits.store import SUBMISSIONS
from shared.unit_of_work import UnitOfWork

PAGE_SIZE = 20


def names(uow: UnitOfWork) -> dict[str, Any]:
    """Display names of zones, cities and organisations, and the industries of zones shown by industry."""
    programme = uow.programme
    zones = programme.exhibition.zones
    return {
        "zones": {z.id: z.name for z in zones},
        "zone_themes": {z.id: z.name_en for z in zones},
        "cities": {c.code: c.name for c in programme.cities},
        "units": {u.code: u.name for u in programme.units},
        "industries": [i for z in zones for i in z.industries],
        "zone_industries": {z.id: list(z.industries) for z in zones},
        "hall": programme.exhibition.hall,
    }


def org_name(uow: UnitOfWork, org_id: str | None) -> str:
    unit = uow.programme.unit(org_id) if org_id else None
    return unit.name if unit else (org_id or "")


def _card(uow: UnitOfWork, item: dict[str, Any], terms: list[str]) -> dict[str, Any]:
    summary = item.get("summary") or ""
    return {
        **item,
        "title_marked": highlight(item["title"], terms),
        "excerpt_marked": highlight(excerpt(summary, terms), terms),
        "org_name": org_name(uow, item.get("org_id")),
    }


async def listing(uow: UnitOfWork, q: str, filters: Filters, cursor: str | None) -> dict[str, Any]:
    """A page of exhibits on show matching the search and filters, matches marked, and what to browse by."""
    found = await catalogue.search(uow, q, filters, cursor, PAGE_SIZE)
    terms: list[str] = found["terms"]
    return {
        "items": [_card(uow, item, terms) for item in found["items"]],
        "next_cursor": found["next_cursor"],
        "terms": terms,
        "organisations": [(o, org_name(uow, o)) for o in await catalogue.organisations(uow)],
        "names": names(uow),
    }


def _hall_map(uow: UnitOfWork, booth_id: str | None) -> HallMap:
    cache = uow.cache("expo-booths", 300.0)  # the booth grid file changes only with a restart
    booths = cache.get("grid")
    if booths is None:
        booths = load_booths(uow.settings.exhibits_booths_file)
        cache.put("grid", booths)
    zones = uow.programme.exhibition.zones
    return hall_map(booths, {z.id: z.area_m2 for z in zones}, {z.id: z.name for z in zones}, booth_id)


async def exhibit(uow: UnitOfWork, exhibit_id: str) -> dict[str, Any]:
    """One exhibit's page (counted as a view): pictures, videos, text, organisation, booth and the hall map."""
    view = await catalogue.exhibit_page(uow, exhibit_id)
    media = view.get("media") or []
    pictures = [m for m in media if m["content_type"].startswith("image/")]
    for n, picture in enumerate(pictures, 1):
        picture["alt"] = picture.get("caption") or f"{view['title']}（图 {n}）"
    return {
        **view,
        "pictures": pictures,
        "videos": [m for m in media if m["content_type"].startswith("video/")],
        "org_name": org_name(uow, view.get("org_id")),
        "description": excerpt(" ".join((view.get("summary") or view["title"]).split()), [], 110),
        "hall_map": _hall_map(uow, view.get("booth_id")),
        "names": names(uow),
    }


async def booth(uow: UnitOfWork, booth_id: str) -> str:
    """The exhibit a booth's QR code leads to."""
    return await catalogue.exhibit_on_booth(uow, booth_id)


async def sitemap(uow: UnitOfWork) -> list[str]:
    """Every exhibit on show, for search engines."""
    found = await uow.db[SUBMISSIONS].find({"listed": True}, {"_id": 1}, sort=[("_id", 1)]).to_list()
    return [d["_id"] for d in found]
