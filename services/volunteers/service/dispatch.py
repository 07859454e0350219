"""Coordinators' dispatch: create, edit, cancel assignments (each rule checked in the same transaction)."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.volunteers.domain import assignments as rules
from services.volunteers.domain import events
from services.volunteers.service.views import assignment_view, check_city, not_found, scope_filter
from services.volunteers.store import ASSIGNMENTS, COMMISSIONERS, DAY_LOADS, HOUSEHOLDS, VILLAGES
from shared.auth import Principal
from shared.http import lost_update, require_match
from shared.idempotency import scoped_key as idempotency_scope
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork


def check_known_city(uow: UnitOfWork, actor: Principal, city_code: str) -> None:
    if uow.programme.city(city_code) is None:
        raise RuleViolation("unknown_city", f"未知的城市代码 / unknown city code {city_code}", "invalid")
    check_city(actor, city_code)


async def hold_day(
    uow: UnitOfWork, session: Session, commissioner: dict[str, Any], visit_date: str, enforce: bool = True
) -> None:
    """Take one of the commissioner's visits that day, or raise if the day is full (serialised by the write).

    `enforce=False` counts a visit that already happened (a late report of a missed visit) whatever the maximum.
    """
    key = f"{commissioner['_id']}:{visit_date}"
    loads = uow.db[DAY_LOADS]
    below_max = {"count": {"$lt": commissioner["max_visits_per_day"]}} if enforce else {}
    taken = await loads.update_one({"_id": key, **below_max}, {"$inc": {"count": 1}}, session=session)
    if taken.modified_count:
        return
    if await loads.find_one({"_id": key}, session=session) is not None:
        raise rules.over_daily_max()
    await loads.insert_one(
        {"_id": key, "commissioner_id": commissioner["_id"], "date": visit_date, "count": 1}, session=session
    )


async def release_day(uow: UnitOfWork, session: Session, commissioner_id: str, visit_date: str) -> None:
    await uow.db[DAY_LOADS].update_one(
        {"_id": f"{commissioner_id}:{visit_date}", "count": {"$gt": 0}}, {"$inc": {"count": -1}}, session=session
    )


@dataclass
class References:
    """The commissioners, villages and households a set of commands names, read once per transaction."""

    commissioners: dict[str, dict[str, Any]]
    villages: dict[str, dict[str, Any]]
    households: dict[str, set[str]]  # village code -> household ids

    @classmethod
    async def load(cls, uow: UnitOfWork, session: Session, cmds: list[rules.NewAssignment]) -> "References":
        db = uow.db
        people = {c.commissioner_id for c in cmds}
        places = {c.village_code for c in cmds}
        commissioners = {
            d["_id"]: d async for d in db[COMMISSIONERS].find({"_id": {"$in": list(people)}}, session=session)
        }
        villages = {d["_id"]: d async for d in db[VILLAGES].find({"_id": {"$in": list(places)}}, session=session)}
        households: dict[str, set[str]] = {}
        wanted = list({h for c in cmds for h in c.household_ids})
        async for h in db[HOUSEHOLDS].find({"_id": {"$in": wanted}}, {"village_code": 1}, session=session):
            households.setdefault(h["village_code"], set()).add(h["_id"])
        return cls(commissioners, villages, households)

    def check(self, cmd: rules.NewAssignment, actor: Principal) -> dict[str, Any]:
        """The commissioner, once every rule but the daily maximum holds."""
        commissioner = self.commissioners.get(cmd.commissioner_id)
        rules.check_dispatch(cmd, commissioner, self.villages.get(cmd.village_code), actor.role == "admin")
        rules.check_households(cmd.household_ids, self.households.get(cmd.village_code, set()))
        assert commissioner is not None
        return commissioner


async def insert_assignment(
    uow: UnitOfWork, session: Session, cmd: rules.NewAssignment, actor: Principal, refs: References | None = None
) -> dict[str, Any]:
    """Check every dispatch rule, take the day, store the assignment and its event; in the caller's transaction."""
    refs = refs or await References.load(uow, session, [cmd])
    commissioner = refs.check(cmd, actor)
    await hold_day(uow, session, commissioner, cmd.visit_date.isoformat())
    doc = rules.plan_assignment(cmd, actor.sub, uow.clock.now()) | {"org_id": commissioner.get("org_id")}
    await uow.db[ASSIGNMENTS].insert_one(doc, session=session)
    await uow.events.emit(session, events.assignment_created(doc), subject=events.subject(doc))
    return doc


async def create_assignment(
    uow: UnitOfWork, cmd: rules.NewAssignment, actor: Principal, key: str | None
) -> dict[str, Any]:
    check_known_city(uow, actor, cmd.city_code)

    async def txn(session: Session) -> dict[str, Any]:
        return assignment_view(await insert_assignment(uow, session, cmd, actor))

    scoped_key = idempotency_scope(actor.sub, "create_assignment", key)
    return await uow.commit_once(scoped_key, {"cmd": cmd.__dict__, "actor": actor.sub}, txn)


async def create_many(
    uow: UnitOfWork, cmds: list[rules.NewAssignment], actor: Principal, key: str | None
) -> dict[str, Any]:
    """All of `cmds` or none: a broken rule names the item (409/422)."""
    for cmd in cmds:
        check_known_city(uow, actor, cmd.city_code)

    async def txn(session: Session) -> dict[str, Any]:
        created = []
        refs = await References.load(uow, session, cmds)
        for index, cmd in enumerate(cmds):
            try:
                created.append(assignment_view(await insert_assignment(uow, session, cmd, actor, refs)))
            except RuleViolation as exc:
                message = f"第 {index + 1} 项 / item {index + 1}: {exc.message}"
                raise RuleViolation(exc.code, message, exc.kind, **exc.details, index=index) from exc
        return {"created": created}

    scoped_key = idempotency_scope(actor.sub, "create_many", key)
    return await uow.commit_once(scoped_key, {"cmds": [c.__dict__ for c in cmds], "actor": actor.sub}, txn)


async def get_assignment(uow: UnitOfWork, assignment_id: str, actor: Principal) -> dict[str, Any]:
    """One assignment in the caller's scope; 404 for ids outside it, so ids cannot be probed."""
    doc = await uow.db[ASSIGNMENTS].find_one({"_id": assignment_id, **scope_filter(actor)})
    if doc is None:
        raise not_found()
    return doc


async def list_assignments(
    uow: UnitOfWork, actor: Principal, city_code: str | None, status: str | None, after: str | None, limit: int
) -> list[dict[str, Any]]:
    query: dict[str, Any] = dict(scope_filter(actor))
    if city_code is not None:
        if "city_code" in query and query["city_code"] != city_code:
            return []
        query["city_code"] = city_code
    if status is not None:
        query["status"] = status
    if after is not None:
        query["_id"] = {"$gt": after}
    return await uow.db[ASSIGNMENTS].find(query, sort=[("_id", 1)], limit=limit).to_list()


async def _current(
    uow: UnitOfWork, session: Session, assignment_id: str, actor: Principal, if_match: str | None
) -> dict[str, Any]:
    """The assignment a coordinator is changing, in their scope (404 outside it) and at the version they saw."""
    doc = await uow.db[ASSIGNMENTS].find_one({"_id": assignment_id, **scope_filter(actor)}, session=session)
    if doc is None:
        raise not_found()
    require_match(if_match, doc["version"])
    return doc


async def edit_assignment(
    uow: UnitOfWork, assignment_id: str, edit: rules.AssignmentEdit, if_match: str | None, actor: Principal
) -> dict[str, Any]:
    async def txn(session: Session) -> dict[str, Any]:
        doc = await _current(uow, session, assignment_id, actor, if_match)
        changes = rules.edited(doc, edit, uow.clock.now())
        new = {**doc, **changes}
        if doc["status"] in rules.HOLDS_DAY:
            await release_day(uow, session, doc["commissioner_id"], doc["visit_date"])
        cmd = rules.NewAssignment(
            new["commissioner_id"],
            new["city_code"],
            new["village_code"],
            date.fromisoformat(new["visit_date"]),
            new["household_ids"],
            new["planned_activities"],
        )
        commissioner = (await References.load(uow, session, [cmd])).check(cmd, actor)
        await hold_day(uow, session, commissioner, new["visit_date"])
        new["org_id"] = commissioner.get("org_id")  # the unit of whoever makes the visit
        await _replace(uow, session, doc, new, if_match)
        if changes.get("status") == "planned":  # a new person or day (or a declined visit re-planned)
            # announced again: reporting keeps the latest plan
            await uow.events.emit(session, events.assignment_created(new), subject=events.subject(new))
        return new

    return await uow.commit(txn)


async def cancel_assignment(
    uow: UnitOfWork, assignment_id: str, reason: str, if_match: str | None, actor: Principal
) -> dict[str, Any]:
    async def txn(session: Session) -> dict[str, Any]:
        doc = await _current(uow, session, assignment_id, actor, if_match)
        new = {**doc, **rules.cancelled(doc, reason, uow.clock.now())}
        if doc["status"] in rules.HOLDS_DAY:
            await release_day(uow, session, doc["commissioner_id"], doc["visit_date"])
        await _replace(uow, session, doc, new, if_match)
        await uow.events.emit(session, events.assignment_cancelled(new), subject=events.subject(new))
        return new

    return await uow.commit(txn)


async def _replace(
    uow: UnitOfWork, session: Session, doc: dict[str, Any], new: dict[str, Any], if_match: str | None
) -> None:
    """Write `new` over `doc` if nobody changed it since it was read; never let an event follow a write that missed."""
    done = await uow.db[ASSIGNMENTS].replace_one({"_id": doc["_id"], "version": doc["version"]}, new, session=session)
    if done.modified_count != 1:
        raise lost_update(if_match)
