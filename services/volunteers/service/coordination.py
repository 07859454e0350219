"""Coordinators' views: quotas, progress against them, and flagged visits with their resolution."""

from typing import Any

from services.volunteers.domain import field as rules
from services.volunteers.service.events import emit
from services.volunteers.service.views import check_city, not_found
from services.volunteers.store import ASSIGNMENTS, FLAGS, QUOTAS
from shared.app import Runtime
from shared.auth import Principal
from shared.http import lost_update
from shared.mongo import Session, utcnow
from shared.problems import Problem

STATUSES = ("planned", "accepted", "declined", "checked_in", "completed", "missed", "cancelled")


async def quotas(rt: Runtime) -> dict[str, int]:
    """Each city's quota: the programme's split, overridden by what admin set."""
    overrides = {d["_id"]: int(d["quota"]) async for d in rt.db[QUOTAS].find({})}
    return {c.code: overrides.get(c.code, c.visit_quota) for c in rt.programme.cities}


async def set_quota(rt: Runtime, city_code: str, quota: int) -> dict[str, int]:
    if rt.programme.city(city_code) is None:
        raise Problem(404, "city_not_found", detail="未知的城市 / unknown city")
    await rt.db[QUOTAS].update_one({"_id": city_code}, {"$set": {"quota": quota, "updated_at": utcnow()}}, upsert=True)
    return await quotas(rt)


async def progress(rt: Runtime, actor: Principal) -> dict[str, Any]:
    """Per city in scope: quota, visits by status, and the report totals of completed visits."""
    match = {} if actor.role == "admin" else {"city_code": actor.city}
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {
            "$group": {
                "_id": {"city": "$city_code", "status": "$status"},
                "count": {"$sum": 1},
                "households_reached": {"$sum": {"$size": {"$ifNull": ["$report.households_reached", []]}}},
                "books": {"$sum": {"$ifNull": ["$report.books_handed_out", 0]}},
                "trainees": {"$sum": {"$ifNull": ["$report.people_trained", 0]}},
            }
        },
    ]
    rows: dict[str, dict[str, int]] = {}
    totals: dict[str, dict[str, int]] = {}
    async for g in await rt.db[ASSIGNMENTS].aggregate(pipeline):
        city, status = g["_id"]["city"], g["_id"]["status"]
        rows.setdefault(city, dict.fromkeys(STATUSES, 0))[status] = g["count"]
        if status == "completed":
            totals[city] = {k: g[k] for k in ("households_reached", "books", "trainees")}
    cities = []
    for code, quota in (await quotas(rt)).items():
        if not actor.may_act_for_city(code):
            continue
        by_status = rows.get(code, dict.fromkeys(STATUSES, 0))
        planned = sum(n for s, n in by_status.items() if s != "cancelled")
        report = totals.get(code, {"households_reached": 0, "books": 0, "trainees": 0})
        cities.append(
            {
                "city_code": code,
                "quota": quota,
                "planned": planned,
                "completed": by_status["completed"],
                "unplanned": max(0, quota - planned),
                **report,
                "by_status": by_status,
            }
        )
    return {"cities": cities}


async def list_flags(
    rt: Runtime, actor: Principal, city_code: str | None, resolved: bool, after: str | None, limit: int
) -> list[dict[str, Any]]:
    city = city_code or actor.city
    query: dict[str, Any] = {"resolved": resolved}
    if city is not None:
        check_city(actor, city)
        query["city_code"] = city
    if after is not None:
        query["_id"] = {"$gt": after}
    return await rt.db[FLAGS].find(query, sort=[("_id", 1)], limit=limit).to_list()


async def resolve_flag(rt: Runtime, flag_id: str, note: str, apply_report: bool, actor: Principal) -> dict[str, Any]:
    """Close a flag; for a conflict, `apply_report` makes the conflicting report the current one (a new version)."""

    async def txn(session: Session) -> dict[str, Any]:
        flag = await rt.db[FLAGS].find_one({"_id": flag_id}, session=session)
        if flag is None or not actor.may_act_for_city(flag["city_code"]):
            raise not_found("flag")
        if flag["resolved"]:
            return flag
        if apply_report:
            await _apply_conflicting_report(rt, session, flag)
        changes = {"resolved": True, "resolution": note, "resolved_by": actor.sub, "resolved_at": utcnow()}
        await rt.db[FLAGS].update_one({"_id": flag_id}, {"$set": changes}, session=session)
        return {**flag, **changes}

    return await rt.commit(txn)


async def _apply_conflicting_report(rt: Runtime, session: Session, flag: dict[str, Any]) -> None:
    doc = await rt.db[ASSIGNMENTS].find_one({"_id": flag["assignment_id"]}, session=session)
    conflict = next((c for c in (doc or {}).get("conflicts", []) if c["op_id"] == flag.get("op_id")), None)
    if doc is None or conflict is None or doc["status"] != "completed":
        raise Problem(409, "nothing_to_apply", detail="该标记没有可采用的报告 / no conflicting report to apply")
    new = {**doc, "report_history": list(doc["report_history"])}
    rules.set_report(new, conflict["report"])
    new.update(version=doc["version"] + 1, updated_at=utcnow())
    done = await rt.db[ASSIGNMENTS].replace_one({"_id": doc["_id"], "version": doc["version"]}, new, session=session)
    if done.modified_count != 1:  # the visit changed since it was read: no "completed" event for a report not stored
        raise lost_update(None)
    await emit(rt, session, "completed", new, new["report_version"])
