"""Operator invitations: a coordinator invites; the one-time link is exchanged for a revocable credential.

The invitation itself (secret, once per device, revocation) is `shared.credentials`; here: who may invite for
which venues, and what an operator's credential holds (role `venue`, the invitation's venue ids).
"""

from typing import Any

from services.registration.service.common import not_found
from services.registration.store import INVITATIONS, VENUES
from shared import credentials
from shared.auth import Principal
from shared.credentials import InvitationKind
from shared.mongo import Document
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork


def _operator_claims(doc: Document) -> dict[str, Any]:
    return {"sub": f"operator:{doc['_id']}", "venues": doc["venue_ids"]}


OPERATORS = InvitationKind(
    name="operator",
    collection=INVITATIONS,
    role="venue",
    claims=_operator_claims,
    fields=("city_code", "venue_ids"),
)


def _city_of(actor: Principal, city_code: str | None) -> str:
    city = actor.city if actor.role == "city" else city_code
    if city is None or not actor.may_act_for_city(city):
        raise RuleViolation("out_of_scope", "只能邀请本市的场馆运营者 / only for your own city", "forbidden")
    return city


def _scope(actor: Principal) -> dict[str, Any]:
    return {} if actor.role == "admin" else {"city_code": actor.city}


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
    return await credentials.issue_invitation(
        uow,
        OPERATORS,
        actor,
        label=fields["label"],
        valid_hours=fields["valid_hours"],
        fields={"city_code": city, "venue_ids": venue_ids},
        key=key,
    )


async def list_invitations(uow: UnitOfWork, actor: Principal) -> list[dict[str, Any]]:
    """The invitations of the caller's city, newest first."""
    return await credentials.list_invitations(uow, OPERATORS, _scope(actor))


async def revoke_invitation(uow: UnitOfWork, actor: Principal, invitation_id: str) -> dict[str, Any]:
    """Revoke an invitation and the credential it issued (repeating is a no-op)."""
    return await credentials.revoke_invitation(uow, OPERATORS, actor, invitation_id, _scope(actor))


async def accept_invitation(uow: UnitOfWork, secret: str, device_id: str) -> dict[str, Any]:
    """Exchange the one-time secret for an operator credential; the same device retrying gets one again."""
    accepted = await credentials.accept_invitation(uow, OPERATORS, secret, device_id)
    doc = accepted["invitation"]
    return {
        "token": accepted["token"],
        "venue_ids": doc["venue_ids"],
        "city_code": doc["city_code"],
        "label": doc["label"],
    }
