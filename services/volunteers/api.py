"""HTTP routes of the volunteers service."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.volunteers import domain, service
from shared.app import RuntimeDep
from shared.auth import Principal, require_roles

router = APIRouter(prefix="/api/v1", tags=["volunteers"])
Coordinator = Annotated[Principal, Depends(require_roles("city", "admin"))]
Commissioner = Annotated[Principal, Depends(require_roles("volunteer"))]
Reader = Annotated[Principal, Depends(require_roles("city", "admin", "volunteer"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
ShortText = Annotated[str, Field(min_length=1, max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignmentIn(_Body):
    commissioner_id: ShortText
    city_code: str = Field(pattern=r"^\d{6}$")
    village_code: ShortText
    visit_date: date
    household_ids: list[ShortText] = Field(default=[], max_length=200)
    planned_activities: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=20)


class ReportIn(_Body):
    households_reached: list[ShortText] = Field(default=[], max_length=200)
    consultations: int = Field(ge=0, le=10_000)
    people_trained: int = Field(ge=0, le=10_000)
    books_handed_out: int = Field(ge=0, le=100_000)
    notes: str = Field(default="", max_length=4000)


class Report(BaseModel):
    households_reached: list[str]
    consultations: int
    people_trained: int
    books_handed_out: int
    notes: str


class Assignment(BaseModel):
    id: str
    commissioner_id: str
    city_code: str
    village_code: str
    visit_date: date
    household_ids: list[str]
    planned_activities: list[str]
    status: str
    version: int
    report: Report | None


def _reply(reply: tuple[int, dict[str, Any]]) -> JSONResponse:
    status, body = reply
    return JSONResponse(body, status_code=status)


@router.post("/assignments", status_code=201, response_model=Assignment)
async def create_assignment(
    body: AssignmentIn, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """指派科技特派员走访村屯 / Assign a commissioner to a village (city coordinators, admin)."""
    cmd = domain.NewAssignment(**body.model_dump())
    return _reply(await service.create_assignment(rt, cmd, actor, idempotency_key))


@router.get("/assignments/{assignment_id}", response_model=Assignment)
async def get_assignment(assignment_id: str, rt: RuntimeDep, actor: Reader) -> dict[str, Any]:
    """查看一次指派 / One assignment, within the caller's scope."""
    return service.public_view(await service.get_assignment(rt, assignment_id, actor))


@router.post("/assignments/{assignment_id}/report", response_model=Assignment)
async def submit_report(assignment_id: str, body: ReportIn, rt: RuntimeDep, actor: Commissioner) -> JSONResponse:
    """提交走访报告并完成走访 / Report a visit, which completes it; resending the same report is a no-op."""
    report = domain.VisitReport(**body.model_dump())
    return _reply(await service.submit_report(rt, assignment_id, report, actor))
