"""Allocation routes: proposal, hand moves, releases, booth QR codes."""

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.exhibits.service import allocation, floorplan
from shared.app import RuntimeDep, api_router
from shared.auth import Admin
from shared.http import IfMatch, PublicRateLimit, versioned
from shared.openapi import problem_responses
from shared.pages import public_base

router = api_router(tags=["allocation 展位分配"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoveIn(_Body):
    exhibit_id: str = Field(max_length=64)
    booth_id: str | None = Field(max_length=16)  # null takes the exhibit off the plan


class ReleaseIn(_Body):
    changelog: str = Field("", max_length=2000)


@router.post("/allocation/proposals")
async def propose(rt: RuntimeDep, actor: Admin) -> JSONResponse:
    """自动生成分配方案（覆盖当前工作方案）/ Propose an allocation automatically (replaces the working plan)."""
    return versioned(await allocation.propose(rt, actor))


@router.get("/allocation/working")
async def working(rt: RuntimeDep, actor: Admin) -> JSONResponse:
    """当前工作方案及未安排原因 / The working plan, with why each unplaced exhibit is out."""
    return versioned(await allocation.working(rt))


@router.get("/allocation/floor-plan")
async def floor_plan(rt: RuntimeDep, actor: Admin) -> JSONResponse:
    """展位图：D8 馆各展位的位置、当前工作方案与未安排原因（ETag 为工作方案版本）/ The hall's booth map with the
    working plan, the allocatable exhibits and why each unplaced one is out (ETag: the working plan's version)."""
    return versioned(await floorplan.floor_plan(rt))


@router.get("/booths")
async def list_booths(rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    """展位表及当前工作方案的占用 / The booth grid and what the working plan puts on each booth."""
    return await allocation.booths(rt)


@router.post("/allocation/moves")
async def move(body: MoveIn, rt: RuntimeDep, actor: Admin, if_match: IfMatch = None) -> JSONResponse:
    """手工调整（检查冲突，需 If-Match）/ Move an exhibit by hand (conflicts checked, If-Match)."""
    return versioned(await allocation.move(rt, body.exhibit_id, body.booth_id, actor, if_match))


@router.post("/allocation/releases", status_code=201)
async def release(body: ReleaseIn, rt: RuntimeDep, actor: Admin, if_match: IfMatch = None) -> JSONResponse:
    """发布新版本（v1、v2…，附变更说明）/ Release the working plan as the next version."""
    view = await allocation.release(rt, body.changelog, actor, if_match)
    return JSONResponse(view, status_code=201)


@router.get("/allocation/releases")
async def list_releases(rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    """全部发布版本及变更说明（最新在前）/ Every release with its changelog, newest first."""
    return await allocation.list_releases(rt)


@router.get("/allocation/releases/latest", responses=problem_responses(404))  # before the first release
async def latest_release(rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    """最新发布版本 / The latest release."""
    return await allocation.get_release(rt, None)


@router.get("/allocation/releases/{number}")
async def get_release(number: int, rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    """某一发布版本 / One release."""
    return await allocation.get_release(rt, number)


@router.get("/booths/{booth_id}/qr.png", response_class=Response)
async def booth_qr(booth_id: str, request: Request, rt: RuntimeDep, _: PublicRateLimit) -> Response:
    """展位二维码，扫码打开展品网页 / A booth's QR code opening its exhibit's online page."""
    png = await allocation.booth_qr(rt, booth_id, public_base(request, rt.settings))
    return Response(png, media_type="image/png")
