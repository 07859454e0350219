"""The dashboard's numbers, all read from the projections: a fixed number of small documents per request."""

from datetime import datetime, timedelta
from typing import Any

from services.reporting import store
from services.reporting.domain.labels import TABLE_COUNTERS
from services.reporting.domain.projection import PROVINCE, city_day_scope, city_scope, day_scope, zone_scope
from services.reporting.service import summaries, targets
from shared.auth import Principal
from shared.unit_of_work import UnitOfWork

CALENDAR_LIMIT = 500


def programme_days(uow: UnitOfWork) -> list[str]:
    p = uow.programme
    return [(p.start + timedelta(days=i)).isoformat() for i in range((p.end - p.start).days + 1)]


def _pick(metrics: dict[str, int]) -> dict[str, int]:
    return {name: metrics.get(name, 0) for name in TABLE_COUNTERS}


async def headline(uow: UnitOfWork, now: datetime) -> dict[str, Any]:
    """Province-wide numbers and the province-wide targets (what the public may see)."""
    totals = (await store.counters(uow.db, [PROVINCE]))[PROVINCE]
    shown = [t for t in await targets.all_targets(uow) if t.scope == PROVINCE]
    return {
        "as_of": now,
        "version": await store.feed_version(uow.db),
        "target": uow.programme.targets.commissioner_visits,
        "totals": _pick(totals),
        "targets": await targets.progress_of(uow, shown, now),
    }


async def dashboard(uow: UnitOfWork, principal: Principal, now: datetime) -> dict[str, Any]:
    """Everything the dashboard shows, limited to the cities the caller may see in detail."""
    cities = [c for c in uow.programme.cities if principal.may_act_for_city(c.code)]
    days = programme_days(uow)
    zones = uow.programme.exhibition.zones
    scopes = [city_scope(c.code) for c in cities] + [day_scope(d) for d in days] + [zone_scope(z.id) for z in zones]
    rows = await store.counters(uow.db, scopes)
    quotas = await store.quotas(uow.db)
    board = await summaries.board(uow, now, [a for a in summaries.cities(uow) if principal.may_act_for_city(a.code)])
    units = await summaries.board(uow, now, [a for a in summaries.units(uow) if principal.may_act_for_unit(a.code)])
    shown = [t for t in await targets.all_targets(uow) if targets.visible(principal, t.scope)]
    return {
        **await headline(uow, now),
        "targets": await targets.progress_of(uow, shown, now),
        "cities": [
            {"city_code": c.code, "name": c.name, "quota": quotas.get(c.code, c.visit_quota), "summary": b["status"]}
            | _pick(rows[city_scope(c.code)])
            for c, b in zip(cities, board, strict=True)
        ],
        "days": [{"date": d, **_pick(rows[day_scope(d)])} for d in days],
        "zones": [
            {"id": z.id, "name": z.name, "budget_m2": z.area_m2}
            | {"used_m2": rows[zone_scope(z.id)].get("area_used_dm2", 0) / 100}
            | _pick(rows[zone_scope(z.id)])
            for z in zones
        ],
        "calendar": await calendar(uow, [c.code for c in cities]),
        "deadlines": board + units,
    }


async def city_days(uow: UnitOfWork, principal: Principal) -> list[dict[str, Any]]:
    """Per city and programme day (cities × days small documents, whatever the number of events)."""
    cities = [c for c in uow.programme.cities if principal.may_act_for_city(c.code)]
    days = programme_days(uow)
    rows = await store.counters(uow.db, [city_day_scope(c.code, d) for c in cities for d in days])
    return [
        {"city_code": c.code, "name": c.name, "date": d, **_pick(rows[city_day_scope(c.code, d)])}
        for c in cities
        for d in days
    ]


async def calendar(uow: UnitOfWork, city_codes: list[str]) -> list[dict[str, Any]]:
    """The themed activities of these cities by date (bounded by the number of activities, not of events)."""
    found = uow.db[store.ACTIVITIES].find(
        {"city_code": {"$in": city_codes}}, sort=[("date", 1), ("_id", 1)], limit=CALENDAR_LIMIT
    )
    keep = ("city_code", "activity_type", "title", "date", "status", "participants")
    return [{"activity_id": d["_id"].split(":", 1)[1]} | {k: d["state"].get(k) for k in keep} async for d in found]
