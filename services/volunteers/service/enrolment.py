"""Enrolling commissioners' phones by QR code, listing and revoking them, and refusing revoked devices."""

import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import segno

from services.volunteers.domain import enrolment as rules
from services.volunteers.service.views import check_city, commissioner_view, not_found
from services.volunteers.store import COMMISSIONERS, ENROLMENTS
from shared.auth import Principal, can_mint, mint_token
from shared.idempotency import json_safe
from shared.idempotency import scoped_key as idempotency_scope
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

CACHE = "enrolment_status"


def view(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: json_safe(v) for k, v in doc.items() if k != "_id"}}


def credential(uow: UnitOfWork, enrolment: dict[str, Any]) -> str:
    """The phone's token of an enrolment (a view), made again from its claims: the token itself is never stored."""
    issued, expires = (datetime.fromisoformat(enrolment[k]) for k in ("issued_at", "expires_at"))
    return mint_token(
        uow.settings,
        role="volunteer",
        sub=enrolment["commissioner_id"],
        jti=enrolment["id"],
        issued_at=issued,
        ttl=expires - issued,
    )


def _check_signing(uow: UnitOfWork) -> None:
    if not can_mint(uow.settings):
        raise RuleViolation(
            "enrolment_signing_unavailable",
            "未配置签发设备凭证的私钥（SCIWEEK_JWT_PRIVATE_KEY）/ no key to sign device credentials",
            "conflict",
        )


async def _insert(uow: UnitOfWork, session: Session, commissioner: dict[str, Any], label: str, by: str) -> Any:
    lifetime = timedelta(days=uow.settings.volunteers_enrolment_days)
    doc = rules.new_enrolment(str(uuid.uuid4()), commissioner, label, by, uow.clock.now(), lifetime)
    await uow.db[ENROLMENTS].insert_one(doc, session=session)
    return doc


async def create_enrolment(
    uow: UnitOfWork, actor: Principal, commissioner_id: str, label: str, key: str | None
) -> dict[str, Any]:
    """A new enrolment of one of the caller's commissioners (a phone each; earlier ones stay until revoked)."""
    _check_signing(uow)

    async def txn(session: Session) -> dict[str, Any]:
        commissioner = await uow.db[COMMISSIONERS].find_one({"_id": commissioner_id}, session=session)
        if commissioner is None or not actor.may_act_for_city(commissioner["city_code"]):
            raise not_found("commissioner")
        return view(await _insert(uow, session, commissioner, label, actor.sub))

    scoped_key = idempotency_scope(actor.sub, "create_enrolment", key)
    return await uow.commit_once(scoped_key, {"commissioner_id": commissioner_id, "label": label}, txn)


async def enrol_city(uow: UnitOfWork, actor: Principal, city_code: str, key: str | None) -> dict[str, Any]:
    """An enrolment for every commissioner of the city who has no active one (for printing the city's sheet)."""
    _check_signing(uow)
    check_city(actor, city_code)

    async def txn(session: Session) -> dict[str, Any]:
        enrolled = await uow.db[ENROLMENTS].distinct(
            "commissioner_id", {"city_code": city_code, "status": "active"}, session=session
        )
        people = uow.db[COMMISSIONERS].find(
            {"city_code": city_code, "_id": {"$nin": enrolled}}, sort=[("_id", 1)], session=session
        )
        created = [view(await _insert(uow, session, c, "", actor.sub)) async for c in people]
        return {"created": created}

    return await uow.commit_once(idempotency_scope(actor.sub, "enrol_city", key), {"city_code": city_code}, txn)


async def list_enrolments(
    uow: UnitOfWork,
    actor: Principal,
    city_code: str,
    commissioner_id: str | None,
    status: rules.Status | None,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    check_city(actor, city_code)
    query: dict[str, Any] = {"city_code": city_code}
    if commissioner_id is not None:
        query["commissioner_id"] = commissioner_id
    if status is not None:
        query["status"] = status
    if after is not None:
        query["_id"] = {"$gt": after}
    return await uow.db[ENROLMENTS].find(query, sort=[("_id", 1)], limit=limit).to_list()


async def get_enrolment(uow: UnitOfWork, actor: Principal, enrolment_id: str) -> dict[str, Any]:
    doc = await uow.db[ENROLMENTS].find_one({"_id": enrolment_id})
    if doc is None or not actor.may_act_for_city(doc["city_code"]):
        raise not_found("enrolment")
    return doc


async def revoke_enrolment(uow: UnitOfWork, actor: Principal, enrolment_id: str) -> dict[str, Any]:
    """Revoke a phone's enrolment: its credential is refused from now on (by other replicas within the cache time)."""

    async def txn(session: Session) -> dict[str, Any]:
        doc = await uow.db[ENROLMENTS].find_one({"_id": enrolment_id}, session=session)
        if doc is None or not actor.may_act_for_city(doc["city_code"]):
            raise not_found("enrolment")
        revoked = rules.revoke(doc, actor.sub, uow.clock.now())
        if revoked is None:
            return doc
        await uow.db[ENROLMENTS].replace_one({"_id": enrolment_id, "status": "active"}, revoked, session=session)
        return revoked

    doc = await uow.commit(txn)
    uow.cache(CACHE, uow.settings.volunteers_enrolment_cache_s).discard(enrolment_id)
    return doc


async def check_in_force(uow: UnitOfWork, principal: Principal) -> None:
    """Refuse a device credential whose enrolment was revoked (tokens without an enrolment are not concerned)."""
    if principal.role != "volunteer" or principal.jti is None:
        return
    cache = uow.cache(CACHE, uow.settings.volunteers_enrolment_cache_s)
    status = cache.get(principal.jti)
    if status is None:
        doc = await uow.db[ENROLMENTS].find_one({"_id": principal.jti}, {"status": 1, "commissioner_id": 1})
        # a jti that names no enrolment was not issued by one (e.g. an identity provider's own token id)
        status = "none" if doc is None else doc["status"] if doc["commissioner_id"] == principal.sub else "revoked"
        cache.put(principal.jti, status)
    if status == "revoked":
        raise rules.revoked_violation()


async def whoami(uow: UnitOfWork, actor: Principal) -> dict[str, Any]:
    """What the phone shows about its owner and needs to know offline (the geofence, photo limits)."""
    commissioner = await uow.db[COMMISSIONERS].find_one({"_id": actor.sub})
    if commissioner is None:
        raise not_found("commissioner")
    enrolment = await uow.db[ENROLMENTS].find_one({"_id": actor.jti}) if actor.jti else None
    s = uow.settings
    return {
        "commissioner": commissioner_view(commissioner, actor),
        "enrolment": view(enrolment) if enrolment is not None else None,
        "rules": {
            "geofence_m": s.volunteers_geofence_m,
            "max_gps_accuracy_m": s.volunteers_max_gps_accuracy_m,
            "visit_photos_max": s.volunteers_visit_photos_max,
            "visit_photo_max_bytes": s.volunteers_visit_photo_max_bytes,
            "sync_max_operations": s.volunteers_sync_max_operations,
        },
    }


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=5, border=3)
    return out.getvalue()


def qr_svg(text: str) -> str:
    return str(segno.make(text, error="m").svg_inline(scale=2, border=2, omitsize=True))
