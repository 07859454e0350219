"""The cities' activity calendar: themed activities scheduled, then held or cancelled (once)."""

import uuid
from datetime import date
from typing import Any

from services.registration.domain import rules
from services.registration.service.common import not_found
from services.registration.store import ACTIVITIES
from shared.auth import Principal
from shared.contracts.registration import ActivityCancelled, ActivityHeld, ActivityScheduled
from shared.http import AfterId, decode_cursor, encode_cursor, lost_update, require_match
from shared.idempotency import scoped_key as idempotency_scope
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

FIELDS = (
    "city_code",
    "activity_type",
    "title",
    "date",
    "start_time",
    "end_time",
    "place",
    "organiser",
    "online_url",
    "expected_participants",
    "org_id",
    "status",
)
OUTCOME = ("participants", "reason", "photos", "version")


def activity_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The API shape of an activity."""
    view = {"id": doc["_id"], **{k: doc.get(k) for k in FIELDS + OUTCOME}}
    view["organiser"] = view["organiser"] or ""  # activities scheduled before organisers were recorded
    return view


def city_scope(actor: Principal) -> dict[str, Any]:
    """A coordinator sees their city's activities, the provincial office all."""
    return {} if actor.role == "admin" else {"city_code": actor.city}


async def schedule_activity(
    uow: UnitOfWork, actor: Principal, fields: dict[str, Any], key: str | None
) -> dict[str, Any]:
    """Schedule a themed activity of the caller's city, once per Idempotency-Key."""
    if not actor.may_act_for_city(fields["city_code"]) or uow.programme.city(fields["city_code"]) is None:
        raise RuleViolation("out_of_scope", "只能登记本市的活动 / only your own city's activities", "forbidden")
    day: date = fields["date"]
    if not uow.programme.start <= day <= uow.programme.end:
        raise RuleViolation("outside_programme", "活动须在活动周内 / the date must lie in the programme", "invalid")
    if fields.get("org_id") is not None and uow.programme.unit(fields["org_id"]) is None:
        raise RuleViolation(
            "unknown_unit", "主办单位不在活动周单位名单中 / not one of the programme's units", "invalid"
        )
    fields = {**fields, **rules.activity_times(fields.get("start_time"), fields.get("end_time"))}
    doc = {
        "_id": str(uuid.uuid4()),
        **fields,
        "date": day.isoformat(),
        "status": "scheduled",
        "photos": [],
        "version": 1,
        "created_by": actor.sub,
        "created_at": uow.clock.now(),
    }
    data = ActivityScheduled(
        activity_id=doc["_id"],
        city_code=fields["city_code"],
        activity_type=fields["activity_type"],
        title=fields["title"],
        date=day,
        expected_participants=fields["expected_participants"],
        org_id=fields.get("org_id"),
    )

    async def txn(session: Session) -> dict[str, Any]:
        await uow.db[ACTIVITIES].insert_one(doc, session=session)
        await uow.events.emit(session, data, subject=f"activity/{doc['_id']}")
        return activity_view(doc)

    scoped_key = idempotency_scope(actor.sub, "schedule_activity", key)
    return await uow.commit_once(scoped_key, {**fields, "date": day.isoformat()}, txn)


async def get_activity(uow: UnitOfWork, actor: Principal, activity_id: str) -> dict[str, Any]:
    """An activity within the caller's scope; 404 outside it."""
    doc = await uow.db[ACTIVITIES].find_one({"_id": activity_id, **city_scope(actor)})
    if doc is None:
        raise not_found("activity")
    return doc


async def record_outcome(
    uow: UnitOfWork, actor: Principal, activity_id: str, outcome: dict[str, Any], if_match: str | None
) -> dict[str, Any]:
    """Held (with participants) or cancelled (with a reason): recorded once, with its one event."""
    doc = await get_activity(uow, actor, activity_id)
    require_match(if_match, doc["version"])
    rules.check_outcome(doc["status"], outcome["status"], outcome.get("participants"))
    changes = {
        "status": outcome["status"],
        "participants": outcome.get("participants"),
        "reason": outcome.get("reason", ""),
    }

    async def txn(session: Session) -> dict[str, Any]:
        done = await uow.db[ACTIVITIES].update_one(
            {"_id": activity_id, "version": doc["version"], "status": "scheduled"},
            {"$set": {**changes, "outcome_at": uow.clock.now()}, "$inc": {"version": 1}},
            session=session,
        )
        if done.modified_count != 1:  # recorded or changed since we read it: no second outcome, no event
            raise lost_update(if_match)
        await uow.events.emit(session, _outcome_data(doc, changes), subject=f"activity/{activity_id}")
        return {**doc, **changes, "version": doc["version"] + 1}

    return await uow.commit(txn)


def _outcome_data(doc: dict[str, Any], changes: dict[str, Any]) -> ActivityHeld | ActivityCancelled:
    common = {
        "activity_id": doc["_id"],
        "city_code": doc["city_code"],
        "activity_type": doc["activity_type"],
        "org_id": doc.get("org_id"),
    }
    if changes["status"] == "held":
        return ActivityHeld(**common, date=date.fromisoformat(doc["date"]), participants=changes["participants"])
    return ActivityCancelled(**common, reason=changes["reason"] or "")


async def add_photo(uow: UnitOfWork, activity_id: str, photo_id: str) -> None:
    """Attach a stored photo to an activity (idempotent)."""
    await uow.db[ACTIVITIES].update_one({"_id": activity_id}, {"$addToSet": {"photos": photo_id}})


async def list_activities(
    uow: UnitOfWork, actor: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> dict[str, Any]:
    """The caller's activities, paged by id."""
    query: dict[str, Any] = {**city_scope(actor), **{k: v for k, v in filters.items() if v is not None}}
    if cursor:
        query["_id"] = {"$gt": decode_cursor(cursor, AfterId).after}
    docs = await uow.db[ACTIVITIES].find(query, sort=[("_id", 1)], limit=limit + 1).to_list()
    items = [activity_view(d) for d in docs[:limit]]
    more = len(docs) > limit
    return {"items": items, "next_cursor": encode_cursor({"after": items[-1]["id"]}) if more else None}
