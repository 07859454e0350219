"""Exhibitor invitations: the office invites (a one-time link and QR), lists and revokes; a device accepts once."""

import base64
import io
from typing import Any

import segno
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.exhibits.service import invitations
from shared.app import RuntimeDep, api_router
from shared.auth import Admin
from shared.credentials import Acceptance, InvitationView, OneTimeLink
from shared.http import IdempotencyKey, PublicRateLimit
from shared.openapi import problem_responses

router = api_router("/exhibitor-invitations", tags=["exhibitor invitations 展商邀请"])


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=100, description="被邀请人 / who is invited, e.g. 广西大学 李老师")
    org_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$", description="the organisation they submit for")
    city_code: str | None = Field(default=None, pattern=r"^\d{6}$", description="a city's exhibitor; none: a unit")
    valid_hours: int = Field(default=72, ge=1, le=24 * 30)
    link_base: str | None = Field(
        default=None, pattern=r"^https?://", max_length=300, description="the console's address, e.g. …/exhibitor/"
    )


class Invitation(InvitationView):
    org_id: str
    city_code: str | None


class NewInvitation(Invitation, OneTimeLink):
    pass


class Credential(BaseModel):
    token: str
    org_id: str
    city_code: str | None
    label: str


def _qr(link: str) -> str:
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=5, border=2)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@router.post("", status_code=201, response_model=NewInvitation)
async def invite_exhibitor(
    body: InvitationIn, rt: RuntimeDep, actor: Admin, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """邀请展商（一次性链接与二维码）/ Invite an exhibiting organisation: a one-time link and its QR code."""
    made = await invitations.invite_exhibitor(
        rt,
        actor,
        label=body.label,
        org_id=body.org_id,
        city_code=body.city_code,
        valid_hours=body.valid_hours,
        key=idempotency_key,
    )
    link = f"{body.link_base or ''}#invite={made['secret']}"
    return JSONResponse({**made, "link": link, "qr": _qr(link)}, status_code=201)


@router.get("", response_model=list[Invitation])
async def list_invitations(rt: RuntimeDep, actor: Admin) -> list[dict[str, Any]]:
    """展商邀请 / Exhibitor invitations, newest first."""
    return await invitations.list_invitations(rt)


@router.post("/{invitation_id}/revoke", response_model=Invitation)
async def revoke_invitation(invitation_id: str, rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    """撤销邀请及其登录（重复撤销无副作用）/ Revoke an invitation and the credential it issued."""
    return await invitations.revoke_invitation(rt, actor, invitation_id)


@router.post("/accept", response_model=Credential, responses=problem_responses(404))  # an unknown or revoked link
async def accept_invitation(body: Acceptance, rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """凭一次性链接领取展商登录（同一设备可重试）/ Exchange the one-time link for the exhibitor's credential."""
    return await invitations.accept_invitation(rt, body.secret, body.device_id)
