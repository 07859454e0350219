"""Coordinators' views: quotas, progress against them, and flagged visits with their resolution."""

from typing import Any

from services.volunteers.domain import events
from services.volunteers.domain import field as rules
from services.volunteers.service.views import check_city, not_found
from services.volunteers.store import ASSIGNMENTS, FLAGS, QUOTAS
from shared.auth import Principal
from shared.contracts.volunteers import QuotaChanged
from shared.http import lost_update
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

STATUSES = ("planned", "accepted", "declined", "checked_in", "completed", "missed", "cancelled")


async def quotas(uow: UnitOfWork) -> dict[str, int]:
    """Each city's quota: the programme's split, overridden by what admin set."""
    overrides = {d["_id"]: int(d["quota"]) async for d in uow.db[QUOTAS].find({})}
    return {c.code: overrides.get(c.code, c.visit_quota) for c in uow.programme.cities}


async def set_quota(uow: UnitOfWork, city_code: str, quota: int) -> dict[str, int]:
    if uow.programme.city(city_code) is None:
        raise RuleViolation("city_not_found", "未知的城市 / unknown city", "not_found")
    now = uow.clock.now()

    async def txn(session: Session) -> None:
        await uow.db[QUOTAS].update_one(
            {"_id": city_code}, {"$set": {"quota": quota, "updated_at": now}}, upsert=True, session=session
        )
        changed = QuotaChanged(city_code=city_code, quota=quota, changed_at=now)
        await uow.events.emit(session, changed, subject=f"quota/{city_code}")

    await uow.commit(txn)
    return await quotas(uow)


async def progress(uow: UnitOfWork, actor: Principal) -> dict[str, Any]:
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
    async for g in await uow.db[ASSIGNMENTS].aggregate(pipeline):
        city, status = g["_id"]["city"], g["_id"]["status"]
        rows.setdefault(city, dict.fromkeys(STATUSES, 0))[status] = g["count"]
        if status == "completed":
            totals[city] = {k: g[k] for k in ("households_reached", "books", "trainees")}
    cities = []
    for code, quota in (await quotas(uow)).items():
        if not actor.may_act_for_city(code):
            continue
        by_status = rows.get(code, dict.fromkeys(STATUSES, 0))
        planned = sum(n for s, n in by_status.items() if s != "cancelled")
        report = totals.get(code, {"households_reached": 0, "books": 0, "trainees": 0})
        cities.append(
            {
                "city_code": code,
                "name": city.name if (city := uow.programme.city(code)) else code,
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
    uow: UnitOfWork,
    actor: Principal,
    city_code: str | None,
    resolved: bool,
    kind: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """A page of flags in the caller's city (of one kind, if given), and the count of each kind there."""
    city = city_code or actor.city
    scope: dict[str, Any] = {"resolved": resolved}
    if city is not None:
        check_city(actor, city)
        scope["city_code"] = city
    query = {**scope, **({"flag": kind} if kind else {})}
    if after is not None:
        query["_id"] = {"$gt": after}
    page = await uow.db[FLAGS].find(query, sort=[("_id", 1)], limit=limit).to_list()
    grouped = uow.db[FLAGS].aggregate([{"$match": scope}, {"$group": {"_id": "$flag", "n": {"$sum": 1}}}])
    return page, {row["_id"]: int(row["n"]) async for row in await grouped}


async def resolve_flag(
    uow: UnitOfWork, flag_id: str, note: str, apply_report: bool, actor: Principal
) -> dict[str, Any]:
    """Close a flag; for a conflict, `apply_report` makes the conflicting report the current one (a new version)."""

    async def txn(session: Session) -> dict[str, Any]:
        flag = await uow.db[FLAGS].find_one({"_id": flag_id}, session=session)
        if flag is None or not actor.may_act_for_city(flag["city_code"]):
            raise not_found("flag")
        if flag["resolved"]:
            return flag
        if apply_report:
            await _apply_conflicting_report(uow, session, flag)
        changes = {"resolved": True, "resolution": note, "resolved_by": actor.sub, "resolved_at": uow.clock.now()}
        await uow.db[FLAGS].update_one({"_id": flag_id}, {"$set": changes}, session=session)
        return {**flag, **changes}

    return await uow.commit(txn)


async def _apply_conflicting_report(uow: UnitOfWork, session: Session, flag: dict[str, Any]) -> None:
    doc = await uow.db[ASSIGNMENTS].find_one({"_id": flag["assignment_id"]}, session=session)
    conflict = next((c for c in (doc or {}).get("conflicts", []) if c["op_id"] == flag.get("op_id")), None)
    if doc is None or conflict is None or doc["status"] != "completed":
        raise RuleViolation("nothing_to_apply", "该标记没有可采用的报告 / no conflicting report to apply")
    new = {**doc, "report_history": list(doc["report_history"])}
    rules.set_report(new, conflict["report"])
    new.update(version=doc["version"] + 1, updated_at=uow.clock.now())
    done = await uow.db[ASSIGNMENTS].replace_one({"_id": doc["_id"], "version": doc["version"]}, new, session=session)
    if done.modified_count != 1:  # the visit changed since it was read: no "completed" event for a report not stored
        raise lost_update(None)
    await uow.events.emit(session, events.visit_completed(new), subject=events.subject(new))
