"""The public cloud exhibition: accepted exhibits, filters, Chinese full-text search, view counts."""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import StreamingResponse

from services.exhibits.domain.search import query_terms
from services.exhibits.store import RELEASES, SUBMISSIONS
from shared.http import decode_cursor, encode_cursor
from shared.media import media_response
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

PUBLIC = ("title", "zone", "industry", "summary", "highlights", "org_id", "city_code", "media", "views")


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


async def exhibit_media(uow: UnitOfWork, exhibit_id: str, file_id: str) -> StreamingResponse:
    """A photo or video of a listed exhibit."""
    doc = await uow.db[SUBMISSIONS].find_one({"_id": exhibit_id, "listed": True}, {"media": 1})
    if doc is None or file_id not in {m["id"] for m in doc.get("media", [])}:
        raise RuleViolation("media_not_found", "文件不存在 / no such file", "not_found")
    return await media_response(uow.db, f"{exhibit_id}/{file_id}")
