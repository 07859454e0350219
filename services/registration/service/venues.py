"""Venues: registration by operators, review by the city (or the provincial office)."""

import uuid
from typing import Any

from services.registration.domain import rules
from services.registration.service.common import not_found, operated_by, venue_scope
from services.registration.store import VENUES
from shared.auth import Principal
from shared.contracts.registration import VenueApproved, VenueRegistered, VenueRejected
from shared.http import AfterId, decode_cursor, encode_cursor, lost_update, require_match
from shared.idempotency import scoped_key as idempotency_scope
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

VENUE_FIELDS = ("name", "org_type", "city_code", "address", "location", "contact", "tracks_exit", "status", "owner")


def venue_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The API shape of a venue."""
    return {
        "id": doc["_id"],
        **{k: doc.get(k) for k in VENUE_FIELDS},
        "reason": doc.get("reason"),
        "version": doc.get("version", 1),
    }


async def edit_venue(
    uow: UnitOfWork, actor: Principal, venue_id: str, changes: dict[str, Any], if_match: str | None
) -> dict[str, Any]:
    """The operator corrects its venue's details (If-Match); type and city stay, as the city approved them."""
    venue = await uow.db[VENUES].find_one({"_id": venue_id, **operated_by(actor)})
    if venue is None:
        raise not_found("venue")
    version = venue.get("version", 1)
    require_match(if_match, version)
    done = await uow.db[VENUES].update_one(
        {"_id": venue_id, "$or": [{"version": version}, {"version": {"$exists": False}}]},
        {"$set": {**changes, "version": version + 1}},
    )
    if done.modified_count != 1:  # edited by someone else since we read it: their edit stands, ours is refused
        raise lost_update(if_match)
    return {**venue, **changes, "version": version + 1}


async def register_venue(uow: UnitOfWork, actor: Principal, fields: dict[str, Any], key: str | None) -> dict[str, Any]:
    """Register a pending venue owned by the caller, once per Idempotency-Key."""
    if uow.programme.city(fields["city_code"]) is None:
        raise RuleViolation("unknown_city", f"未知的城市代码 / unknown city code {fields['city_code']}", "invalid")
    doc = {"_id": str(uuid.uuid4()), **fields, "status": "pending", "owner": actor.sub, "created_at": uow.clock.now()}
    data = VenueRegistered(
        venue_id=doc["_id"], city_code=fields["city_code"], name=fields["name"], org_type=fields["org_type"]
    )

    async def txn(session: Session) -> dict[str, Any]:
        await uow.db[VENUES].insert_one(doc, session=session)
        await uow.events.emit(session, data, subject=f"venue/{doc['_id']}")
        return venue_view(doc)

    scoped_key = idempotency_scope(actor.sub, "register_venue", key)
    return await uow.commit_once(scoped_key, fields, txn)


async def get_venue(uow: UnitOfWork, actor: Principal, venue_id: str) -> dict[str, Any]:
    """A venue within the caller's scope; 404 outside it (existence is not revealed)."""
    doc = await uow.db[VENUES].find_one({"_id": venue_id, **venue_scope(actor)})
    if doc is None:
        raise not_found("venue")
    return doc


async def list_venues(
    uow: UnitOfWork, actor: Principal, status: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Venues within the caller's scope, paged by id."""
    query: dict[str, Any] = {**venue_scope(actor)}
    if status:
        query["status"] = status
    if cursor:
        query["_id"] = {"$gt": decode_cursor(cursor, AfterId).after}
    docs = await uow.db[VENUES].find(query, sort=[("_id", 1)], limit=limit + 1).to_list()
    more = len(docs) > limit
    items = [venue_view(d) for d in docs[:limit]]
    return {"items": items, "next_cursor": encode_cursor({"after": items[-1]["id"]}) if more else None}


async def review_venue(
    uow: UnitOfWork, actor: Principal, venue_id: str, approve: bool, reason: str, key: str | None
) -> dict[str, Any]:
    """Approve or reject a pending venue of the caller's city (404 for venues of other cities)."""
    venue = await get_venue(uow, actor, venue_id)
    rules.decide_venue_review(venue["status"])
    status = "approved" if approve else "rejected"

    async def txn(session: Session) -> dict[str, Any]:
        done = await uow.db[VENUES].update_one(
            {"_id": venue_id, "status": "pending"},
            {
                "$set": {
                    "status": status,
                    "reason": reason or None,
                    "reviewed_by": actor.sub,
                    "reviewed_at": uow.clock.now(),
                }
            },
            session=session,
        )
        if done.modified_count != 1:
            raise RuleViolation("venue_already_reviewed", "场馆已审核 / venue already reviewed")
        await uow.events.emit(session, _review_data(venue, actor, reason, approve), subject=f"venue/{venue_id}")
        fresh = await uow.db[VENUES].find_one({"_id": venue_id}, session=session)
        assert fresh is not None
        return venue_view(fresh)

    scoped_key = idempotency_scope(actor.sub, f"review_venue:{venue_id}", key)
    return await uow.commit_once(scoped_key, {"approve": approve, "reason": reason}, txn)


def _review_data(venue: dict[str, Any], actor: Principal, reason: str, approve: bool) -> VenueApproved | VenueRejected:
    if approve:
        return VenueApproved(
            venue_id=venue["_id"], city_code=venue["city_code"], org_type=venue["org_type"], approved_by=actor.sub
        )
    return VenueRejected(venue_id=venue["_id"], city_code=venue["city_code"], reason=reason)
