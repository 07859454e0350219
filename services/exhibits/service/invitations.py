"""Exhibitor invitations: the exhibition office invites an organisation; the link is exchanged once for a
revocable credential (role `exhibitor`, its `org` and, for a city's exhibitors, `city`); see shared.credentials."""

from typing import Any

from services.exhibits.store import INVITATIONS
from shared import credentials
from shared.auth import Principal
from shared.credentials import InvitationKind
from shared.mongo import Document
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork


def _exhibitor_claims(doc: Document) -> dict[str, Any]:
    return {"sub": f"exhibitor:{doc['_id']}", "org": doc["org_id"], "city": doc.get("city_code")}


EXHIBITORS = InvitationKind(
    name="exhibitor",
    collection=INVITATIONS,
    role="exhibitor",
    claims=_exhibitor_claims,
    fields=("org_id", "city_code"),
)


async def invite_exhibitor(
    uow: UnitOfWork,
    actor: Principal,
    *,
    label: str,
    org_id: str,
    city_code: str | None,
    valid_hours: int,
    key: str | None,
) -> dict[str, Any]:
    """Invite the people of an organisation (a unit, a city's institute) to submit exhibits as that organisation."""
    if city_code is not None and uow.programme.city(city_code) is None:
        raise RuleViolation("unknown_city", f"未知的城市代码 / unknown city code {city_code}", "invalid")
    fields = {"org_id": org_id, "city_code": city_code}
    return await credentials.issue_invitation(
        uow, EXHIBITORS, actor, label=label, valid_hours=valid_hours, fields=fields, key=key
    )


async def list_invitations(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every exhibitor invitation, newest first (the office)."""
    return await credentials.list_invitations(uow, EXHIBITORS, {})


async def revoke_invitation(uow: UnitOfWork, actor: Principal, invitation_id: str) -> dict[str, Any]:
    """Revoke an invitation and the credential it issued (repeating is a no-op)."""
    return await credentials.revoke_invitation(uow, EXHIBITORS, actor, invitation_id, {})


async def accept_invitation(uow: UnitOfWork, secret: str, device_id: str) -> dict[str, Any]:
    """Exchange the one-time secret for an exhibitor's credential; the same device retrying gets one again."""
    accepted = await credentials.accept_invitation(uow, EXHIBITORS, secret, device_id)
    doc = accepted["invitation"]
    return {
        "token": accepted["token"],
        "org_id": doc["org_id"],
        "city_code": doc.get("city_code"),
        "label": doc["label"],
    }
