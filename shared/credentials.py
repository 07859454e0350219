"""Invitations exchanged once for a revocable credential: issue, accept once per device, list, revoke, check.

A service that lets people in without passwords (venue operators, exhibitors, a phone enrolled by a coordinator)
describes its kind of invitation once (`InvitationKind`: the collection it keeps them in, the role of the token it
issues and the token's claims) and uses these functions. An invitation's secret is never stored (only its
SHA-256), so the one-time link is shown once. The issued token (HS256, `SCIWEEK_JWT_SECRET`) carries the
invitation's id as `jti`; `standing(...)` refuses a credential whose invitation was revoked, checked against the
service's own collection at most every `cache_s` seconds per replica (the replica that revokes forgets at once).
"""

import hashlib
import secrets
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request

from shared.auth import Principal, Role, mint_token, require_roles
from shared.idempotency import json_safe, scoped_key
from shared.mongo import Document, Session
from shared.problems import Problem
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

Claims = Callable[[Document], dict[str, Any]]  # an invitation -> mint_token's keywords: sub, city, venues, org
GENERIC_VIEW = ("label", "status", "created_by", "created_at", "expires_at", "accepted_at", "revoked_at")


@dataclass(frozen=True)
class InvitationKind:
    """One kind of invitation of one service."""

    name: str  # what is invited, e.g. "operator" (idempotency scope "invite_operator")
    collection: str  # the service's collection of these invitations; an invitation's id is its credential's jti
    role: Role  # the role of the credential issued
    claims: Claims  # the issued token's subject and scope claims, from the stored invitation
    fields: tuple[str, ...] = ()  # the service's own fields of an invitation shown in its view
    grace: timedelta = timedelta(days=30)  # a credential lasts until the programme's end and this much more

    @property
    def cache_name(self) -> str:
        return f"revoked:{self.collection}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invitation_view(kind: InvitationKind, doc: Document) -> dict[str, Any]:
    """The API shape of an invitation: id, the service's fields, label, status and times (never its secret)."""
    return {"id": doc["_id"], **{k: json_safe(doc.get(k)) for k in (*kind.fields, *GENERIC_VIEW)}}


async def issue_invitation(
    uow: UnitOfWork,
    kind: InvitationKind,
    actor: Principal,
    *,
    label: str,
    valid_hours: int,
    fields: dict[str, Any],
    key: str | None,
) -> dict[str, Any]:
    """A new pending invitation holding `fields` (already checked by the service), with its secret shown once."""
    secret = secrets.token_urlsafe(24)
    now = uow.clock.now()
    doc = {
        "_id": str(uuid.uuid4()),
        "secret_sha256": _digest(secret),
        **fields,
        "label": label,
        "status": "pending",
        "created_by": actor.sub,
        "created_at": now,
        "expires_at": now + timedelta(hours=valid_hours),
        "accepted_at": None,
    }

    async def txn(session: Session) -> dict[str, Any]:
        await uow.db[kind.collection].insert_one(doc, session=session)
        return {**invitation_view(kind, doc), "secret": secret}

    body = {**fields, "label": label, "valid_hours": valid_hours}
    return await uow.commit_once(scoped_key(actor.sub, f"invite_{kind.name}", key), body, txn)


async def list_invitations(uow: UnitOfWork, kind: InvitationKind, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """The invitations matching `scope` (the caller's own, e.g. {"city_code": …}; {} for all), newest first."""
    docs = await uow.db[kind.collection].find(scope, sort=[("created_at", -1)], limit=200).to_list()
    return [invitation_view(kind, d) for d in docs]


async def revoke_invitation(
    uow: UnitOfWork, kind: InvitationKind, actor: Principal, invitation_id: str, scope: dict[str, Any]
) -> dict[str, Any]:
    """Revoke an invitation within `scope` and the credential it issued (repeating is a no-op).

    This replica forgets its cached answer at once; the others within `cache_s` of `standing`.
    """
    doc = await uow.db[kind.collection].find_one({"_id": invitation_id, **scope})
    if doc is None:
        raise RuleViolation("invitation_not_found", "邀请不存在 / no such invitation", "not_found")
    if doc["status"] != "revoked":
        changes = {"status": "revoked", "revoked_at": uow.clock.now(), "revoked_by": actor.sub}
        await uow.db[kind.collection].update_one({"_id": invitation_id}, {"$set": changes})
        doc = {**doc, **changes}
    uow.cache(kind.cache_name, REVOCATION_CACHE_S).entries.pop(invitation_id, None)
    return invitation_view(kind, doc)


async def accept_invitation(uow: UnitOfWork, kind: InvitationKind, secret: str, device_id: str) -> dict[str, Any]:
    """Exchange the one-time secret for a credential: {"token", "invitation"}; the same device retrying gets one
    again, another device is refused (409 invitation_used)."""
    doc = await uow.db[kind.collection].find_one({"secret_sha256": _digest(secret)})
    now = uow.clock.now()
    if doc is None or doc["status"] == "revoked":
        raise RuleViolation("invitation_invalid", "邀请链接无效或已撤销 / invalid or revoked invitation", "not_found")
    if doc["status"] == "accepted" and doc.get("device_id") != device_id:
        raise RuleViolation("invitation_used", "邀请链接已被使用 / this invitation has already been used")
    if doc["status"] == "pending":
        if doc["expires_at"] <= now:
            raise RuleViolation("invitation_expired", "邀请链接已过期 / the invitation has expired")
        taken = await uow.db[kind.collection].update_one(
            {"_id": doc["_id"], "status": "pending"},
            {"$set": {"status": "accepted", "accepted_at": now, "device_id": device_id}},
        )
        if taken.modified_count != 1:  # another device took it a moment ago
            return await accept_invitation(uow, kind, secret, device_id)
    until = datetime.combine(uow.programme.end, time(23, 59), UTC) + kind.grace
    ttl = max(until - now, timedelta(days=1))
    token = mint_token(uow.settings, role=kind.role, jti=doc["_id"], ttl=ttl, **kind.claims(doc))
    return {"token": token, "invitation": doc}


async def is_revoked(uow: UnitOfWork, collection: str, jti: str) -> bool:
    """Whether the credential with this id was revoked (an id the collection does not hold never is)."""
    return await uow.db[collection].count_documents({"_id": jti, "status": "revoked"}) > 0


REVOCATION_CACHE_S = 5.0


async def check_standing(uow: UnitOfWork, kind: InvitationKind, principal: Principal) -> Principal:
    """The principal, unless its credential (by `jti`) was revoked: 401 credential_revoked."""
    if principal.jti is None:
        return principal
    cache = uow.cache(kind.cache_name, REVOCATION_CACHE_S)
    revoked = cache.get(principal.jti)
    if revoked is None:
        revoked = await is_revoked(uow, kind.collection, principal.jti)
        cache.put(principal.jti, revoked)
    if revoked:
        raise Problem(401, "credential_revoked", detail="此设备的登录已被撤销 / this credential has been revoked")
    return principal


def standing(kind: InvitationKind, *roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency: a caller of one of `roles` whose credential stands (not revoked)."""

    async def principal_whose_credential_stands(
        request: Request, principal: Annotated[Principal, Depends(require_roles(*roles))]
    ) -> Principal:
        return await check_standing(request.app.state.runtime, kind, principal)

    return principal_whose_credential_stands
