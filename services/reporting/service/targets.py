"""The targets in force (the programme's and those an admin added), their progress, and behind-pace alerts."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, get_args
from zoneinfo import ZoneInfo

from services.reporting import store
from services.reporting.domain.entities import is_scope
from services.reporting.domain.labels import LABELS, is_counter
from services.reporting.domain.pace import Target, progress
from services.reporting.domain.projection import PROVINCE, city_scope, zone_scope
from shared.auth import Principal
from shared.contracts.registration import ActivityType
from shared.contracts.reporting import TargetBehindPace
from shared.mongo import Session
from shared.programme import Programme, TargetSpec
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork


def programme_targets(p: Programme, quotas: Mapping[str, int] | None = None) -> list[Target]:
    """1000 visits with per-city quotas (as last changed), policy lectures per city, zones filled by the opening."""
    out = [Target("visits", "completed", PROVINCE, p.targets.commissioner_visits, p.start, p.end)]
    for c in p.cities:
        quota = (quotas or {}).get(c.code, c.visit_quota)
        out.append(Target(f"visits:{c.code}", "completed", city_scope(c.code), quota, p.start, p.end))
    lectures = p.targets.policy_lectures_per_city
    for c in p.cities:
        metric = "activities.policy_lecture.held"
        out.append(Target(f"policy_lectures:{c.code}", metric, city_scope(c.code), lectures, p.start, p.end))
    for z in p.exhibition.zones:
        area = z.area_m2 * 100  # counters keep areas in dm²
        out.append(Target(f"zone_area:{z.id}", "area_used_dm2", zone_scope(z.id), area, p.start, p.exhibition.start))
    return out + [from_spec(s, p.start) for s in p.targets.extra]


def from_spec(spec: TargetSpec | dict[str, Any], default_start: date, source: str = "programme") -> Target:
    s = spec if isinstance(spec, TargetSpec) else TargetSpec.model_validate(spec)
    schedule = tuple((d, share) for d, share in s.schedule)
    return Target(s.id, s.metric, s.scope, s.value, s.start or default_start, s.due, schedule, source)


def visible(principal: Principal, scope: str) -> bool:
    """A city coordinator sees province-wide targets and their own city's, not other cities'."""
    return principal.role == "admin" or not scope.startswith("city:") or scope == city_scope(principal.city or "")


async def all_targets(uow: UnitOfWork) -> list[Target]:
    added = [from_spec(d["spec"], uow.programme.start, "admin") async for d in uow.db[store.TARGETS].find({})]
    return programme_targets(uow.programme, await store.quotas(uow.db)) + added


def local_day(uow: UnitOfWork, now: datetime) -> date:
    return now.astimezone(ZoneInfo(uow.programme.timezone)).date()


async def progress_of(uow: UnitOfWork, targets: list[Target], now: datetime) -> list[dict[str, Any]]:
    """Each target's progress, from the counters of its scope (one read for all scopes)."""
    rows = await store.counters(uow.db, sorted({t.scope for t in targets}))
    day = local_day(uow, now)
    return [
        progress(t, rows[t.scope].get(t.metric, 0), day) | {"label": LABELS.get(t.metric, t.metric)} for t in targets
    ]


def check_spec(p: Programme, spec: TargetSpec) -> None:
    """A target measures a counter the projections keep, in a scope they keep it for (else it stays at 0)."""
    if not is_counter(spec.metric, get_args(ActivityType)):
        raise RuleViolation("unknown_metric", f"未知指标 / unknown metric: {spec.metric}", kind="invalid")
    if not is_scope(
        spec.scope, [c.code for c in p.cities], [z.id for z in p.exhibition.zones], [u.code for u in p.units]
    ):
        raise RuleViolation("unknown_scope", f"未知范围 / unknown scope: {spec.scope}", kind="invalid")


async def save_target(uow: UnitOfWork, spec: TargetSpec) -> None:
    check_spec(uow.programme, spec)

    async def txn(session: Session) -> None:
        doc = {"_id": spec.id, "spec": spec.model_dump(mode="json")}
        await uow.db[store.TARGETS].replace_one({"_id": spec.id}, doc, upsert=True, session=session)

    await uow.commit(txn)


async def announce_behind_pace(uow: UnitOfWork, now: datetime) -> int:
    """Send reporting.target.behind_pace.v1 for each target that fell behind since the last check."""
    known = {d["_id"]: d.get("behind") async for d in uow.db[store.TARGET_STATE].find({})}
    sent = 0
    for row in await progress_of(uow, await all_targets(uow), now):
        if now.date() > max(row["due"], uow.programme.end):  # over with the week: nobody is nagged any more
            continue
        if known.get(row["id"]) != row["behind"] and await _flip(uow, row, now):
            sent += 1
    return sent


async def _flip(uow: UnitOfWork, row: dict[str, Any], now: datetime) -> bool:
    async def txn(session: Session) -> bool:
        states = uow.db[store.TARGET_STATE]
        await states.update_one({"_id": row["id"]}, {"$setOnInsert": {"behind": False}}, upsert=True, session=session)
        changed = await states.update_one(
            {"_id": row["id"], "behind": not row["behind"]}, {"$set": {"behind": row["behind"]}}, session=session
        )
        if changed.modified_count == 0 or not row["behind"]:
            return False
        data = TargetBehindPace(
            target_id=row["id"],
            metric=row["metric"],
            scope=row["scope"],
            done=row["done"],
            expected=row["expected"],
            value=row["value"],
            due=row["due"],
            as_of=now,
        )
        await uow.events.emit(session, data, subject=f"target/{data.target_id}")
        return True

    return await uow.commit(txn)
