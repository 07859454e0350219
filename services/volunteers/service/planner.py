"""The auto-planner's use cases: preview a city's proposal, commit (part of) it in one step."""

from collections import Counter
from dataclasses import asdict
from typing import Any

from services.volunteers.domain import assignments as rules
from services.volunteers.domain.planner import propose
from services.volunteers.service.coordination import quotas
from services.volunteers.service.dispatch import check_known_city, create_many
from services.volunteers.store import ASSIGNMENTS, COMMISSIONERS, DAY_LOADS, HOUSEHOLDS, VILLAGES
from shared.auth import Principal
from shared.unit_of_work import UnitOfWork


async def preview(uow: UnitOfWork, actor: Principal, city_code: str) -> dict[str, Any]:
    """What the planner would add to fill the city's quota (nothing is written)."""
    check_known_city(uow, actor, city_code)
    db = uow.db
    commissioners = await db[COMMISSIONERS].find({"city_code": city_code}).to_list()
    villages = await db[VILLAGES].find({"city_code": city_code}).to_list()
    households: dict[str, list[dict[str, Any]]] = {}
    async for h in db[HOUSEHOLDS].find({"village_code": {"$in": [v["_id"] for v in villages]}}):
        households.setdefault(h["village_code"], []).append(h)
    ids = [c["_id"] for c in commissioners]
    loads = {d["_id"]: d["count"] async for d in db[DAY_LOADS].find({"commissioner_id": {"$in": ids}})}
    live = {"city_code": city_code, "status": {"$ne": "cancelled"}}
    visited: Counter[str] = Counter()
    async for a in db[ASSIGNMENTS].find(live, {"village_code": 1}):
        visited[a["village_code"]] += 1
    quota = (await quotas(uow))[city_code]
    wanted = max(0, quota - sum(visited.values()))
    proposals = propose(commissioners, villages, households, loads, dict(visited), wanted)
    return {
        "city_code": city_code,
        "quota": quota,
        "planned": sum(visited.values()),
        "wanted": wanted,
        "proposals": [asdict(p) for p in proposals],
    }


async def commit(uow: UnitOfWork, actor: Principal, cmds: list[rules.NewAssignment], key: str | None) -> dict[str, Any]:
    """Create the chosen proposals, all or none (every dispatch rule checked again)."""
    return await create_many(uow, cmds, actor, key)
