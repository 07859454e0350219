"""Use cases of the volunteers service: one transaction each, state and outbox together."""

from datetime import datetime
from typing import Any

from services.volunteers import domain
from services.volunteers.store import ASSIGNMENTS
from shared.app import Reply, Runtime
from shared.auth import Principal
from shared.contracts.volunteers import AssignmentCreated, VisitCompleted
from shared.envelope import new_event
from shared.mongo import Session, utcnow
from shared.outbox import add_to_outbox
from shared.problems import Problem


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in doc.items() if k != "_id"}
    view["id"] = doc["_id"]
    for key in ("created_at", "updated_at", "completed_at"):
        if isinstance(view.get(key), datetime):
            view[key] = view[key].isoformat()
    return view


def _check_city(rt: Runtime, actor: Principal, city_code: str) -> None:
    if rt.programme.city(city_code) is None:
        raise Problem(422, "unknown_city", detail=f"未知的城市代码 / unknown city code {city_code}")
    if not actor.may_act_for_city(city_code):
        raise Problem(403, "out_of_scope", detail="只能管理本市的指派 / only your own city's assignments")


async def create_assignment(rt: Runtime, cmd: domain.NewAssignment, actor: Principal, key: str | None) -> Reply:
    _check_city(rt, actor, cmd.city_code)
    doc = domain.plan_assignment(cmd, actor.sub, utcnow())
    event = new_event(
        "volunteers.assignment.created.v1",
        AssignmentCreated(
            assignment_id=doc["_id"],
            commissioner_id=cmd.commissioner_id,
            city_code=cmd.city_code,
            village_code=cmd.village_code,
            visit_date=cmd.visit_date,
            household_ids=cmd.household_ids,
        ),
        source=rt.settings.source,
        subject=f"assignment/{doc['_id']}",
    )

    async def txn(session: Session) -> Reply:
        await rt.db[ASSIGNMENTS].insert_one(doc, session=session)
        await add_to_outbox(rt.db, session, event)
        return 201, public_view(doc)

    scoped_key = f"{actor.sub}:create_assignment:{key}" if key else None
    return await rt.commit_once(scoped_key, {"cmd": cmd.__dict__, "actor": actor.sub}, txn)


async def get_assignment(rt: Runtime, assignment_id: str, actor: Principal) -> dict[str, Any]:
    doc = await rt.db[ASSIGNMENTS].find_one({"_id": assignment_id})
    if doc is None:
        raise Problem(404, "assignment_not_found", detail="指派不存在 / no such assignment")
    own_visit = actor.role == "volunteer" and actor.sub == doc["commissioner_id"]
    if not (own_visit or actor.may_act_for_city(doc["city_code"])):
        raise Problem(403, "out_of_scope", detail="无权查看该指派 / not your assignment")
    return doc


async def submit_report(rt: Runtime, assignment_id: str, report: domain.VisitReport, actor: Principal) -> Reply:
    async def txn(session: Session) -> Reply:
        doc = await rt.db[ASSIGNMENTS].find_one({"_id": assignment_id}, session=session)
        if doc is None:
            raise Problem(404, "assignment_not_found", detail="指派不存在 / no such assignment")
        if actor.sub != doc["commissioner_id"]:
            raise Problem(403, "out_of_scope", detail="只能报告自己的走访 / only your own visits")
        now = utcnow()
        changes = domain.complete_visit(doc, report, now)
        if changes is None:  # the phone retried a report that already went through
            return 200, public_view(doc)
        await rt.db[ASSIGNMENTS].update_one(
            {"_id": assignment_id, "version": doc["version"]}, {"$set": changes}, session=session
        )
        event = new_event(
            "volunteers.visit.completed.v1",
            VisitCompleted(
                assignment_id=assignment_id,
                commissioner_id=doc["commissioner_id"],
                city_code=doc["city_code"],
                village_code=doc["village_code"],
                visit_date=doc["visit_date"],
                completed_at=now,
                households_reached=len(report.households_reached),
                consultations=report.consultations,
                trainees=report.people_trained,
                books=report.books_handed_out,
            ),
            source=rt.settings.source,
            subject=f"assignment/{assignment_id}",
        )
        await add_to_outbox(rt.db, session, event)
        return 200, public_view({**doc, **changes})

    return await rt.commit(txn)
