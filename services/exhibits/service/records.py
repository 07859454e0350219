"""What every use case shares: loading a submission within the caller's scope, views, exhibit events."""

from typing import Any

from pydantic import BaseModel

from services.exhibits.domain.lifecycle import facts
from services.exhibits.store import RELEASES, REVIEWERS, SUBMISSIONS
from shared.auth import Principal
from shared.idempotency import json_safe
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

INTERNAL = ("search_terms", "title_terms", "created_by", "_id")
REVIEW_RESULTS = ("score", "review_count")  # reviewers see scores only after scoring themselves


def not_found() -> RuleViolation:
    return RuleViolation("submission_not_found", "申报不存在 / no such submission", "not_found")


def submission_view(doc: dict[str, Any], role: str = "exhibitor") -> dict[str, Any]:
    """A submission as `role` sees it: never review comments; the review score only for the office."""
    hidden = INTERNAL if role == "admin" else (*INTERNAL, *REVIEW_RESULTS)
    view = {k: json_safe(v) for k, v in doc.items() if k not in hidden}
    view["history"] = [{k: json_safe(v) for k, v in step.items()} for step in doc.get("history", [])]
    view["id"] = doc["_id"]
    return view


async def reviewer_zones(uow: UnitOfWork, reviewer_id: str, session: Session | None = None) -> list[int]:
    doc = await uow.db[REVIEWERS].find_one({"_id": reviewer_id}, session=session)
    return list(doc["zones"]) if doc else []


async def load_in_scope(
    uow: UnitOfWork, exhibit_id: str, actor: Principal, session: Session | None = None
) -> dict[str, Any]:
    """The submission if the caller may see it: its organisation, a reviewer of its zone, or admin; else 404."""
    doc = await uow.db[SUBMISSIONS].find_one({"_id": exhibit_id}, session=session)
    if doc is None:
        raise not_found()
    if actor.role == "admin":
        return doc
    if actor.role == "exhibitor" and actor.org is not None and doc["org_id"] == actor.org:
        return doc
    if actor.role == "reviewer" and doc["zone"] in await reviewer_zones(uow, actor.sub, session):
        return doc
    raise not_found()


async def emit_exhibit_event(
    uow: UnitOfWork, session: Session, contract: type[BaseModel], doc: dict[str, Any], **extra: Any
) -> None:
    """The event `contract` about an exhibit, carrying its facts as they are in `doc`."""
    await uow.events.emit(session, contract(**facts(doc), **extra), subject=f"exhibit/{doc['_id']}")


async def with_booths(uow: UnitOfWork, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The views with the booth each exhibit has in the latest release (None before it or off the plan)."""
    latest = await uow.db[RELEASES].find_one({}, {"placements": 1}, sort=[("_id", -1)])
    booths = (latest or {}).get("placements", {})
    return [{**v, "booth_id": booths.get(v["id"]), "release": latest["_id"] if latest else None} for v in views]
