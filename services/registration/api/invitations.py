"""Operator invitations: coordinators invite (a one-time link and QR), list and revoke; a device accepts once."""

import base64
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.registration.domain.tickets import qr_png
from services.registration.service import invitations
from shared.app import RuntimeDep, api_router
from shared.auth import Coordinator
from shared.credentials import Acceptance, InvitationView, OneTimeLink
from shared.http import IdempotencyKey, PublicRateLimit
from shared.openapi import problem_responses

router = api_router(tags=["invitations"])


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=100, description="被邀请人或设备 / who or which device is invited")
    venue_ids: list[str] = Field(default_factory=list, max_length=20, description="empty: they register a venue")
    city_code: str | None = Field(default=None, pattern=r"^\d{6}$", description="admin only; a coordinator's own city")
    valid_hours: int = Field(default=72, ge=1, le=24 * 30)
    link_base: str | None = Field(
        default=None, pattern=r"^https?://", max_length=300, description="the portal's address, e.g. …/operator/"
    )


class Invitation(InvitationView):
    city_code: str
    venue_ids: list[str]


class NewInvitation(Invitation, OneTimeLink):
    pass


class Credential(BaseModel):
    token: str
    venue_ids: list[str]
    city_code: str
    label: str


@router.post("/invitations", status_code=201, response_model=NewInvitation)
async def invite_operator(
    body: InvitationIn, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """邀请场馆运营者（一次性链接与二维码）/ Invite a venue operator: a one-time link and its QR code."""
    fields = body.model_dump(exclude={"link_base"})
    made = await invitations.create_invitation(rt, actor, fields, idempotency_key)
    link = f"{body.link_base or ''}#invite={made['secret']}"
    qr = "data:image/png;base64," + base64.b64encode(qr_png(link, scale=5)).decode()
    return JSONResponse({**made, "link": link, "qr": qr}, status_code=201)


@router.get("/invitations", response_model=list[Invitation])
async def list_invitations(rt: RuntimeDep, actor: Coordinator) -> list[dict[str, Any]]:
    """本市的邀请 / Your city's invitations, newest first."""
    return await invitations.list_invitations(rt, actor)


@router.post("/invitations/{invitation_id}/revoke", response_model=Invitation)
async def revoke_invitation(invitation_id: str, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """撤销邀请及其登录（重复撤销无副作用）/ Revoke an invitation and the credential it issued.

    This replica forgets its cached answer at once; the others within a few seconds (shared.credentials).
    """
    return await invitations.revoke_invitation(rt, actor, invitation_id)


@router.post("/public/invitations/accept", response_model=Credential, responses=problem_responses(404))
async def accept_invitation(body: Acceptance, rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """凭一次性链接领取运营者登录（同一设备可重试）/ Exchange the one-time link for the operator's credential."""
    return await invitations.accept_invitation(rt, body.secret, body.device_id)
