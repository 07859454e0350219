"""The public cloud exhibition: accepted exhibits, filters, Chinese full-text search, view counts."""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from services.exhibits.domain.search import query_terms
from services.exhibits.store import RELEASES, SUBMISSIONS
from shared.http import decode_cursor, encode_cursor
from shared.media import conditional_media_response, ensure_rendition, rendition_id
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

PUBLIC = (
    "title",
    "zone",
    "industry",
    "summary",
    "highlights",
    "org_id",
    "city_code",
    "media",
    "views",
    "video_url",
)
MEDIA_CACHE = "public, max-age=86400"  # a file id is written once: a day in any cache, then revalidated by ETag


PROJECTION = {k: 1 for k in (*PUBLIC, "accepted_at")}
MAX_OFFSET = 100_000  # deeper than anyone pages; a bigger skip is refused, not sent to the database


@dataclass(frozen=True)
class Filters:
    city_code: str | None = None
    zone: int | None = None
    industry: str | None = None
    org_id: str | None = None


def _match(filters: Filters) -> dict[str, Any]:
    return {"listed": True, **{k: v for k, v in vars(filters).items() if v is not None}}


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    view = {k: doc.get(k) for k in PUBLIC}
    view["id"] = doc["_id"]
    view["accepted_at"] = doc["accepted_at"].isoformat() if doc.get("accepted_at") else None
    return view


class Offset(BaseModel):
    """The catalogue's cursor: how many results the previous pages showed (bounded: it is a skip)."""

    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


async def search(uow: UnitOfWork, q: str, filters: Filters, cursor: str | None, limit: int) -> dict[str, Any]:
    """Listed exhibits matching every term of `q` and the filters; more terms in the title first, then newest."""
    terms = query_terms(q)
    offset = decode_cursor(cursor, Offset).offset if cursor else 0
    if terms:
        docs = (await _ranked(uow, terms, _match(filters)))[offset : offset + limit + 1]
    elif q.strip():
        docs = []
    else:
        order = [("accepted_at", -1), ("_id", 1)]
        docs = (
            await uow.db[SUBMISSIONS]
            .find(_match(filters), PROJECTION, sort=order, skip=offset, limit=limit + 1)
            .to_list()
        )
    following = encode_cursor({"offset": offset + limit}) if len(docs) > limit else None
    return {"items": [public_view(d) for d in docs[:limit]], "next_cursor": following, "terms": terms}


async def _ranked(uow: UnitOfWork, terms: list[str], match: dict[str, Any]) -> list[dict[str, Any]]:
    """Exhibits holding every term, by terms found in the title, then newest.

    One indexed equality on the first term; the other terms are checked here on the fetched term arrays.
    The embedded server answers a single multikey equality from the index, but scans the whole collection
    for `$all` or several conditions on one array, and fetches every match of an index scan anyway.
    """
    wanted = set(terms)
    fields = {**PROJECTION, "search_terms": 1, "title_terms": 1}
    cursor = uow.db[SUBMISSIONS].find({**match, "search_terms": terms[0]}, fields)
    docs = [d async for d in cursor if wanted <= set(d["search_terms"])]
    docs.sort(key=lambda d: (d["accepted_at"], d["_id"]), reverse=True)
    docs.sort(key=lambda d: -len(wanted.intersection(d["title_terms"])))
    return docs


async def exhibit_page(uow: UnitOfWork, exhibit_id: str) -> dict[str, Any]:
    """One listed exhibit (counted as a view) with its booth in the latest release."""
    counted = await uow.db[SUBMISSIONS].update_one({"_id": exhibit_id, "listed": True}, {"$inc": {"views": 1}})
    if counted.matched_count != 1:
        raise RuleViolation("exhibit_not_found", "展品不存在或未展出 / no such exhibit on show", "not_found")
    doc = await uow.db[SUBMISSIONS].find_one({"_id": exhibit_id})
    if doc is None:
        raise RuleViolation("exhibit_not_found", "展品不存在或未展出 / no such exhibit on show", "not_found")
    latest = await uow.db[RELEASES].find_one({}, {f"placements.{exhibit_id}": 1}, sort=[("_id", -1)])
    booth = (latest or {}).get("placements", {}).get(exhibit_id)
    return {**public_view(doc), "booth_id": booth}


async def exhibit_media(
    uow: UnitOfWork, exhibit_id: str, file_id: str, if_none_match: str | None, small: bool = False
) -> Response:
    """A photo or video of a listed exhibit (or an image's rendition for phones, made once on first need)."""
    doc = await uow.db[SUBMISSIONS].find_one({"_id": exhibit_id, "listed": True}, {"media": 1})
    item = next((m for m in (doc or {}).get("media", []) if m["id"] == file_id), None)
    if item is None or (small and not item["content_type"].startswith("image/")):
        raise RuleViolation("media_not_found", "文件不存在 / no such file", "not_found")
    stored = f"{exhibit_id}/{file_id}"
    if small:
        await ensure_rendition(uow.db, stored)  # pictures uploaded before renditions existed get theirs now
        stored = rendition_id(stored)
    return await conditional_media_response(uow.db, stored, MEDIA_CACHE, if_none_match)


async def view_count(uow: UnitOfWork, exhibit_id: str) -> dict[str, Any]:
    """How often a listed exhibit's page was viewed (not counted as a view itself)."""
    doc = await uow.db[SUBMISSIONS].find_one({"_id": exhibit_id, "listed": True}, {"views": 1})
    if doc is None:
        raise RuleViolation("exhibit_not_found", "展品不存在或未展出 / no such exhibit on show", "not_found")
    return {"id": exhibit_id, "views": int(doc.get("views", 0))}


async def exhibit_on_booth(uow: UnitOfWork, booth_id: str) -> str:
    """The exhibit standing on `booth_id` in the latest release (what the booth's QR code opens)."""
    latest = await uow.db[RELEASES].find_one({}, {"placements": 1}, sort=[("_id", -1)])
    exhibit_id = next((e for e, b in (latest or {}).get("placements", {}).items() if b == booth_id), None)
    if exhibit_id is None:
        raise RuleViolation("booth_empty", "该展位在最新版本中没有展品 / no exhibit on this booth", "not_found")
    return str(exhibit_id)


async def organisations(uow: UnitOfWork) -> list[str]:
    """The organisations with exhibits on show (for browsing by organisation), cached for a minute."""
    cache = uow.cache("expo-organisations", 60.0)
    hit = cache.get("all")
    if hit is None:
        hit = sorted({d["org_id"] async for d in uow.db[SUBMISSIONS].find({"listed": True}, {"org_id": 1})})
        cache.put("all", hit)
    return list(hit)


def check_writable(uow: UnitOfWork) -> None:
    """After the week the catalogue is an archive: nothing in it changes (its pages stay)."""
    if uow.settings.exhibits_archive:
        raise RuleViolation(
            "catalogue_archived", "科技展已归档，内容只读 / the exhibition is archived: the catalogue is read-only"
        )
