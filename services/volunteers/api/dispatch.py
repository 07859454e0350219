"""Coordinators' routes: assignments, the reassignment queue."""

from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import Field

from services.volunteers.api.common import PAGE, Body, ShortText
from services.volunteers.domain import assignments as rules
from services.volunteers.service import dispatch, planner
from services.volunteers.service.views import assignment_view
from shared.app import RuntimeDep, api_router
from shared.auth import Coordinator, CoordinatorOrCommissioner
from shared.http import AfterId, IdempotencyKey, IfMatch, decode_cursor, encode_cursor, versioned
from shared.times import Day

router = api_router(tags=["dispatch"])
Status = Literal["planned", "accepted", "declined", "checked_in", "completed", "missed", "cancelled"]
Activities = list[Annotated[str, Field(max_length=200)]]


class AssignmentIn(Body):
    commissioner_id: ShortText
    city_code: str = Field(pattern=r"^\d{6}$")
    village_code: ShortText
    visit_date: Day
    household_ids: list[ShortText] = Field(default=[], max_length=200)
    planned_activities: Activities = Field(default=[], max_length=20)

    def command(self) -> rules.NewAssignment:
        return rules.NewAssignment(**self.model_dump())


class AssignmentEditIn(Body):
    commissioner_id: ShortText | None = None
    visit_date: Day | None = None
    household_ids: list[ShortText] | None = Field(default=None, max_length=200)
    planned_activities: Activities | None = Field(default=None, max_length=20)


class CancelIn(Body):
    reason: str = Field(default="", max_length=500)


@router.post("/assignments", status_code=201)
async def create_assignment(
    body: AssignmentIn, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """指派科技特派员走访村屯（当天有空、不超每日上限、同市）/ Assign a commissioner to a village on a date."""
    return versioned(await dispatch.create_assignment(rt, body.command(), actor, idempotency_key), 201)


@router.get("/assignments/{assignment_id}")
async def get_assignment(assignment_id: str, rt: RuntimeDep, actor: CoordinatorOrCommissioner) -> JSONResponse:
    """查看一次指派（范围外的编号答 404）/ One assignment within the caller's scope (404 outside it)."""
    return versioned(assignment_view(await dispatch.get_assignment(rt, assignment_id, actor)))


@router.get("/assignments")
async def list_assignments(
    rt: RuntimeDep,
    actor: Coordinator,
    city_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    status: Status | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """本市的指派（status=declined 即待改派队列）/ Assignments in scope; status=declined is the reassignment queue."""
    after = decode_cursor(cursor, AfterId).after if cursor else None
    docs = await dispatch.list_assignments(rt, actor, city_code, status, after, PAGE)
    nxt = encode_cursor({"after": docs[-1]["_id"]}) if len(docs) == PAGE else None
    return {"items": [assignment_view(d) for d in docs], "next_cursor": nxt}


@router.patch("/assignments/{assignment_id}")
async def edit_assignment(
    assignment_id: str, body: AssignmentEditIn, rt: RuntimeDep, actor: Coordinator, if_match: IfMatch = None
) -> JSONResponse:
    """修改或改派（需 If-Match）/ Edit or reassign a visit (If-Match); a new person or date makes it planned again."""
    edit = rules.AssignmentEdit(**body.model_dump())
    return versioned(assignment_view(await dispatch.edit_assignment(rt, assignment_id, edit, if_match, actor)))


@router.post("/assignments/{assignment_id}/cancel")
async def cancel_assignment(
    assignment_id: str, body: CancelIn, rt: RuntimeDep, actor: Coordinator, if_match: IfMatch = None
) -> JSONResponse:
    """取消走访（已完成的不能取消；需 If-Match）/ Cancel a visit that is not completed (If-Match)."""
    return versioned(assignment_view(await dispatch.cancel_assignment(rt, assignment_id, body.reason, if_match, actor)))


class PlanIn(Body):
    city_code: str = Field(pattern=r"^\d{6}$")


class PlanCommitIn(Body):
    assignments: list[AssignmentIn] = Field(min_length=1, max_length=2000)


@router.post("/plans/preview")
async def preview_plan(body: PlanIn, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """自动排班预览：按专长匹配需求、就近、不超每日上限，补足本市任务数 / Propose visits to fill the city's quota."""
    return await planner.preview(rt, actor, body.city_code)


@router.post("/plans/commit", status_code=201)
async def commit_plan(
    body: PlanCommitIn, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """一次提交选定的建议（全部成功或全部不建）/ Commit the chosen proposals in one step, all or none."""
    cmds = [a.command() for a in body.assignments]
    return versioned(await planner.commit(rt, actor, cmds, idempotency_key), 201, None)
