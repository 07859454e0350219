"""Operator invitations: a coordinator invites; the one-time link is exchanged for a revocable credential."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from services.registration.service.common import not_found
from services.registration.store import INVITATIONS, VENUES
from shared.auth import Principal, mint_token
from shared.idempotency import json_safe
from shared.idempotency import scoped_key as idempotency_scope
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

CREDENTIAL_GRACE = timedelta(days=30)  # an operator's credential lasts until the programme's end and a month more
VIEW: tuple[str, ...] = ("city_code", "venue_ids", "label", "status", "created_by", "created_at", "expires_at")
VIEW += ("accepted_at", "revoked_at")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invitation_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The API shape of an invitation (its secret is never stored, so never shown again)."""
    return {"id": doc["_id"], **{k: json_safe(doc.get(k)) for k in VIEW}}


def _city_of(actor: Principal, city_code: str | None) -> str:
    city = actor.city if actor.role == "city" else city_code
    if city is None or not actor.may_act_for_city(city):
        raise RuleViolation("out_of_scope", "只能邀请本市的场馆运营者 / only for your own city", "forbidden")
    return city


async def create_invitation(
    uow: UnitOfWork, actor: Principal, fields: dict[str, Any], key: str | None
) -> dict[str, Any]:
    """Invite an operator for venues of the caller's city (none: they register their own, which the city approves)."""
    city = _city_of(actor, fields.get("city_code"))
    if uow.programme.city(city) is None:
        raise RuleViolation("unknown_city", f"未知的城市代码 / unknown city code {city}", "invalid")
    venue_ids = sorted(set(fields["venue_ids"]))
    found = await uow.db[VENUES].count_documents({"_id": {"$in": venue_ids}, "city_code": city})
    if found != len(venue_ids):
        raise not_found("venue")
    secret = secrets.token_urlsafe(24)
    now = uow.clock.now()
    doc = {
        "_id": str(uuid.uuid4()),
        "secret_sha256": _digest(secret),
        "city_code": city,
        "venue_ids": venue_ids,
        "label": fields["label"],
        "status": "pending",
        "created_by": actor.sub,
        "created_at": now,
        "expires_at": now + timedelta(hours=fields["valid_hours"]),
        "accepted_at": None,
    }

    async def txn(session: Session) -> dict[str, Any]:
        await uow.db[INVITATIONS].insert_one(doc, session=session)
        return {**invitation_view(doc), "secret": secret}

    scoped_key = idempotency_scope(actor.sub, "invite_operator", key)
    return await uow.commit_once(scoped_key, {**fields, "city_code": city}, txn)


async def list_invitations(uow: UnitOfWork, actor: Principal) -> list[dict[str, Any]]:
    """The invitations of the caller's city, newest first."""
    scope = {} if actor.role == "admin" else {"city_code": actor.city}
    docs = await uow.db[INVITATIONS].find(scope, sort=[("created_at", -1)], limit=200).to_list()
    return [invitation_view(d) for d in docs]


async def revoke_invitation(uow: UnitOfWork, actor: Principal, invitation_id: str) -> dict[str, Any]:
    """Revoke an invitation and the credential it issued (repeating is a no-op)."""
    scope = {} if actor.role == "admin" else {"city_code": actor.city}
    doc = await uow.db[INVITATIONS].find_one({"_id": invitation_id, **scope})
    if doc is None:
        raise RuleViolation("invitation_not_found", "邀请不存在 / no such invitation", "not_found")
    if doc["status"] != "revoked":
        changes = {"status": "revoked", "revoked_at": uow.clock.now(), "revoked_by": actor.sub}
        await uow.db[INVITATIONS].update_one({"_id": invitation_id}, {"$set": changes})
        doc = {**doc, **changes}
    return invitation_view(doc)


async def accept_invitation(uow: UnitOfWork, secret: str, device_id: str) -> dict[str, Any]:
    """Exchange the one-time secret for an operator credential; the same device retrying gets one again."""
    doc = await uow.db[INVITATIONS].find_one({"secret_sha256": _digest(secret)})
    now = uow.clock.now()
    if doc is None or doc["status"] == "revoked":
        raise RuleViolation("invitation_invalid", "邀请链接无效或已撤销 / invalid or revoked invitation", "not_found")
    if doc["status"] == "accepted" and doc.get("device_id") != device_id:
        raise RuleViolation("invitation_used", "邀请链接已被使用 / this invitation has already been used")
    if doc["status"] == "pending":
        if doc["expires_at"] <= now:
            raise RuleViolation("invitation_expired", "邀请链接已过期 / the invitation has expired")
        taken = await uow.db[INVITATIONS].update_one(
            {"_id": doc["_id"], "status": "pending"},
            {"$set": {"status": "accepted", "accepted_at": now, "device_id": device_id}},
        )
        if taken.modified_count != 1:  # another device took it a moment ago
            return await accept_invitation(uow, secret, device_id)
    return _credential(uow, doc, now)


def _credential(uow: UnitOfWork, doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    until = datetime.combine(uow.programme.end, time(23, 59), UTC) + CREDENTIAL_GRACE
    token = mint_token(
        uow.settings,
        role="venue",
        sub=f"operator:{doc['_id']}",
        venues=doc["venue_ids"],
        jti=doc["_id"],
        ttl=max(until - now, timedelta(days=1)),
    )
    return {"token": token, "venue_ids": doc["venue_ids"], "city_code": doc["city_code"], "label": doc["label"]}


async def is_revoked(uow: UnitOfWork, jti: str) -> bool:
    """Whether the credential with this id was revoked."""
    return await uow.db[INVITATIONS].count_documents({"_id": jti, "status": "revoked"}) > 0
