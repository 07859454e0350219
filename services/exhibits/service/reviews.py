"""Use cases of review: reviewers' zones, scoring, reading reviews, and the office's decisions."""

from typing import Any

from services.exhibits.domain import lifecycle, review, search
from services.exhibits.service.records import (
    emit_exhibit_event,
    load_in_scope,
    not_found,
    reviewer_zones,
    submission_view,
)
from services.exhibits.store import REVIEWERS, REVIEWS, SUBMISSIONS
from shared.auth import Principal
from shared.contracts.exhibits import ExhibitAccepted, ExhibitRejected, ExhibitWaitlisted, ReviewSubmitted
from shared.http import AfterId, decode_cursor, encode_cursor
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

DECISIONS: dict[str, type[Any]] = {
    "accepted": ExhibitAccepted,
    "rejected": ExhibitRejected,
    "waitlisted": ExhibitWaitlisted,
}


async def assign_zones(uow: UnitOfWork, reviewer_id: str, zones: list[int], actor: Principal) -> dict[str, Any]:
    """Set the zones a reviewer reviews (admin)."""
    known = {z.id for z in uow.programme.exhibition.zones}
    if not set(zones) <= known:
        raise RuleViolation("unknown_zone", f"未知展区 / unknown zones {sorted(set(zones) - known)}", "invalid")
    doc = {"zones": sorted(set(zones)), "assigned_by": actor.sub, "assigned_at": uow.clock.now()}
    await uow.db[REVIEWERS].update_one({"_id": reviewer_id}, {"$set": doc}, upsert=True)
    return {"reviewer_id": reviewer_id, "zones": doc["zones"]}


async def review_queue(uow: UnitOfWork, actor: Principal, cursor: str | None, limit: int) -> dict[str, Any]:
    """Submissions awaiting review in the reviewer's zones, with whether the caller has scored each."""
    query: dict[str, Any] = {
        "status": {"$in": ["submitted", "in_review"]},
        "zone": {"$in": await reviewer_zones(uow, actor.sub)},
    }
    if cursor is not None:
        query["_id"] = {"$gt": decode_cursor(cursor, AfterId).after}
    docs = await uow.db[SUBMISSIONS].find(query, sort=[("_id", 1)], limit=limit + 1).to_list()
    page = docs[:limit]
    mine = {
        r["exhibit_id"]
        async for r in uow.db[REVIEWS].find({"reviewer_id": actor.sub, "exhibit_id": {"$in": [d["_id"] for d in page]}})
    }
    items = [{**_for_reviewer(d), "reviewed_by_me": d["_id"] in mine} for d in page]
    return {"items": items, "next_cursor": encode_cursor({"after": page[-1]["_id"]}) if len(docs) > limit else None}


def _for_reviewer(doc: dict[str, Any]) -> dict[str, Any]:
    view = submission_view(doc, "reviewer")
    return {k: v for k, v in view.items() if k != "history"}


async def submit_review(
    uow: UnitOfWork, exhibit_id: str, scores: dict[str, int], comment: str, actor: Principal
) -> dict[str, Any]:
    """Score an exhibit (again, until it is decided); the exhibit's aggregate score follows in the same write."""
    total = review.weighted_score(scores, uow.settings.exhibits_criteria)

    async def txn(session: Session) -> dict[str, Any]:
        doc = await load_in_scope(uow, exhibit_id, actor, session)
        if doc["status"] == "draft":
            raise RuleViolation("not_submitted", "草稿尚未提交，不能评审 / a draft cannot be reviewed")
        if doc["status"] not in ("submitted", "in_review"):
            raise RuleViolation("review_closed", f"该申报已{doc['status']}，评审结束 / review is closed")
        now = uow.clock.now()
        mine = {"scores": scores, "comment": comment, "total": total, "zone": doc["zone"], "updated_at": now}
        await uow.db[REVIEWS].update_one(
            {"exhibit_id": exhibit_id, "reviewer_id": actor.sub}, {"$set": mine}, upsert=True, session=session
        )
        totals = [r["total"] async for r in uow.db[REVIEWS].find({"exhibit_id": exhibit_id}, session=session)]
        score = review.aggregate(totals, uow.settings.exhibits_aggregate)
        change: dict[str, Any] = {"$set": {"score": score, "review_count": len(totals), "version": doc["version"] + 1}}
        if doc["status"] == "submitted":
            change = _merge(lifecycle.transition(doc, "in_review", "reviewer", actor.sub, now), change)
        await _write(uow, doc, change, session)
        data = ReviewSubmitted(exhibit_id=exhibit_id, reviewer_id=actor.sub, zone=doc["zone"], score=total)
        await uow.events.emit(session, data, subject=f"exhibit/{exhibit_id}")
        return {"exhibit_id": exhibit_id, "reviewer_id": actor.sub, **_plain_review(mine)}

    return await uow.commit(txn)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {op: {**a.get(op, {}), **b.get(op, {})} for op in {*a, *b}}


def _plain_review(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if k == "updated_at" else v) for k, v in doc.items() if k not in ("_id", "exhibit_id")}


async def _write(uow: UnitOfWork, doc: dict[str, Any], change: dict[str, Any], session: Session) -> None:
    done = await uow.db[SUBMISSIONS].update_one({"_id": doc["_id"], "version": doc["version"]}, change, session=session)
    if done.modified_count != 1:
        raise RuleViolation("concurrent_change", "申报刚被修改，请重试 / changed meanwhile, retry")


async def list_reviews(uow: UnitOfWork, exhibit_id: str, actor: Principal) -> dict[str, Any]:
    """All reviews of an exhibit: the office always; a reviewer only after submitting their own."""
    await load_in_scope(uow, exhibit_id, actor)
    reviews = await uow.db[REVIEWS].find({"exhibit_id": exhibit_id}, sort=[("reviewer_id", 1)]).to_list()
    if actor.role == "reviewer" and actor.sub not in {r["reviewer_id"] for r in reviews}:
        raise RuleViolation(
            "review_first", "提交自己的评分后才能查看他人评分 / submit your own review first", "forbidden"
        )
    return {"items": [_plain_review(r) for r in reviews]}


async def decide(uow: UnitOfWork, exhibit_id: str, decision: str, force: bool, actor: Principal) -> dict[str, Any]:
    """Accept, reject or waitlist (admin); an accepted exhibit is searchable as soon as this commits."""

    async def txn(session: Session) -> dict[str, Any]:
        doc = await uow.db[SUBMISSIONS].find_one({"_id": exhibit_id}, session=session)
        if doc is None:
            raise not_found()
        if doc["status"] == decision:
            return submission_view(doc, "admin")
        lifecycle.check_decision(doc, force)
        now = uow.clock.now()
        change = lifecycle.transition(doc, decision, "admin", actor.sub, now)
        if decision == "accepted":
            change["$set"].update({"listed": True, "accepted_at": now})
            change["$set"].update(search.search_fields(doc["title"], doc["summary"], doc["highlights"]))
        await _write(uow, doc, change, session)
        fresh = await uow.db[SUBMISSIONS].find_one({"_id": exhibit_id}, session=session)
        assert fresh is not None
        await emit_exhibit_event(uow, session, DECISIONS[decision], fresh, decided_by=actor.sub)
        return submission_view(fresh, "admin")

    return await uow.commit(txn)


async def decide_many(uow: UnitOfWork, items: list[tuple[str, str]], force: bool, actor: Principal) -> dict[str, Any]:
    """Decisions in bulk, each its own transaction; the result says which went through and why not."""
    results: list[dict[str, Any]] = []
    for exhibit_id, decision in items:
        try:
            view = await decide(uow, exhibit_id, decision, force, actor)
            results.append({"id": exhibit_id, "ok": True, "status": view["status"]})
        except RuleViolation as exc:
            results.append({"id": exhibit_id, "ok": False, "code": exc.code})
    return {"results": results, "decided": sum(1 for r in results if r["ok"])}
