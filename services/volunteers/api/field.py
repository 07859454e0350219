"""The commissioners' phone: delta sync, single operations, offline batches, photos."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import File, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Field

from services.volunteers.api.common import Body
from services.volunteers.domain.field import Decline, OpType, Position, VisitReport
from services.volunteers.service import dispatch, field, photos
from shared.app import Runtime, RuntimeDep, api_router
from shared.auth import Commissioner, CoordinatorOrCommissioner, Principal
from shared.http import IdempotencyKey, IfMatch, decode_cursor, encode_cursor, versioned
from shared.openapi import problem_responses
from shared.problems import Problem
from shared.times import Instant

router = api_router(tags=["field"])


class OperationIn(Body):
    op_id: uuid.UUID
    type: OpType
    assignment_id: Annotated[str, Field(min_length=1, max_length=64)]
    device_time: Instant
    payload: dict[str, Any] = Field(default_factory=dict)


class SyncIn(Body):
    operations: list[OperationIn] = Field(min_length=1)


class DeviceTime(Body):
    device_time: Instant | None = None


class DeclineIn(Decline, DeviceTime):
    pass


class PositionIn(Position, DeviceTime):
    pass


@router.get("/me/assignments", responses=problem_responses(410))  # a cursor too old to resume from
async def my_assignments(rt: RuntimeDep, actor: Commissioner, cursor: str | None = None) -> dict[str, Any]:
    """增量同步：游标之后的变化（含撤销的墓碑）与离线所需的村、户数据 / Delta sync since the cursor; 410 if too old."""
    state = decode_cursor(cursor, field.SyncCursor) if cursor else None
    changes = await field.changes_since(rt, actor, state)
    return {**changes, "cursor": encode_cursor(changes["cursor"])}


@router.post("/sync")
async def sync(body: SyncIn, rt: RuntimeDep, actor: Commissioner) -> dict[str, Any]:
    """离线批量同步：按序执行、每个操作只生效一次 / Apply an offline batch in order, each operation exactly once.

    Each result says `applied`, `unchanged`, `deferred`, `conflict` or `rejected`. Resending an operation
    under the same `op_id` replays its first result, so a rejected operation cannot be corrected under its
    old id: send the corrected one under a new `op_id` (the rejection says `retry_with_new_op_id`).
    Operations that reach the server long after their device time raise one late-sync flag per batch.
    """
    if len(body.operations) > rt.settings.volunteers_sync_max_operations:
        raise Problem(
            413,
            "too_many_operations",
            detail=f"每批最多 {rt.settings.volunteers_sync_max_operations} 个操作 / too many",
        )
    ops = [field.RawOperation(str(o.op_id), o.type, o.assignment_id, o.device_time, o.payload) for o in body.operations]
    return {"results": await field.sync_batch(rt, actor, ops)}


async def _single(
    rt: Runtime,
    actor: Principal,
    assignment_id: str,
    op_type: OpType,
    payload: dict[str, Any],
    device_time: datetime | None,
    key: str | None,
    if_match: str | None = None,
) -> JSONResponse:
    raw = field.RawOperation(key or str(uuid.uuid4()), op_type, assignment_id, device_time or rt.clock.now(), payload)
    return versioned(await field.single_operation(rt, actor, raw, key, if_match))


@router.post("/assignments/{assignment_id}/accept")
async def accept(
    assignment_id: str,
    rt: RuntimeDep,
    actor: Commissioner,
    body: DeviceTime | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """接受指派 / Accept the assignment."""
    return await _single(rt, actor, assignment_id, "accept", {}, body.device_time if body else None, idempotency_key)


@router.post("/assignments/{assignment_id}/decline")
async def decline(
    assignment_id: str, body: DeclineIn, rt: RuntimeDep, actor: Commissioner, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """拒绝指派（须说明原因）/ Decline the assignment, with a reason."""
    payload = body.model_dump(include={"reason"})
    return await _single(rt, actor, assignment_id, "decline", payload, body.device_time, idempotency_key)


@router.post("/assignments/{assignment_id}/check-in")
async def check_in(
    assignment_id: str, body: PositionIn, rt: RuntimeDep, actor: Commissioner, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """到村签到（超出范围或精度差的定位照收并标记）/ Check in; a far or imprecise position is accepted and flagged."""
    payload = body.model_dump(include={"lat", "lon", "accuracy_m"})
    return await _single(rt, actor, assignment_id, "check_in", payload, body.device_time, idempotency_key)


@router.post("/assignments/{assignment_id}/check-out")
async def check_out(
    assignment_id: str, body: PositionIn, rt: RuntimeDep, actor: Commissioner, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """离村签退 / Check out (same position rules as check-in)."""
    payload = body.model_dump(include={"lat", "lon", "accuracy_m"})
    return await _single(rt, actor, assignment_id, "check_out", payload, body.device_time, idempotency_key)


@router.post("/assignments/{assignment_id}/report")
async def submit_report(
    assignment_id: str, body: VisitReport, rt: RuntimeDep, actor: Commissioner, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """提交走访报告并完成走访；重发同一报告无副作用 / Report the visit, which completes it; a resend is a no-op."""
    await dispatch.get_assignment(rt, assignment_id, actor)  # 404 before the photos say anything about it
    await photos.check_photos(rt, assignment_id, body.photo_ids)
    payload = body.model_dump(mode="json", exclude_unset=True)
    return await _single(rt, actor, assignment_id, "report", payload, None, idempotency_key)


@router.put("/assignments/{assignment_id}/report")
async def edit_report(
    assignment_id: str,
    body: VisitReport,
    rt: RuntimeDep,
    actor: Commissioner,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """修改走访报告（If-Match 为报告版本 "n"）/ Edit the report; If-Match names the report version it edits."""
    await dispatch.get_assignment(rt, assignment_id, actor)  # 404 before the photos say anything about it
    await photos.check_photos(rt, assignment_id, body.photo_ids)
    payload = body.model_dump(mode="json", exclude_unset=True)
    result = await _single(rt, actor, assignment_id, "edit_report", payload, None, idempotency_key, if_match)
    return result


@router.put("/assignments/{assignment_id}/photos/{photo_id}", status_code=201)
async def upload_photo(
    assignment_id: str, photo_id: uuid.UUID, rt: RuntimeDep, actor: Commissioner, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """上传走访照片（客户端生成编号，重传无副作用）/ Upload a visit photo under a client-generated id (idempotent)."""
    await dispatch.get_assignment(rt, assignment_id, actor)
    return await photos.store_photo(rt, assignment_id, str(photo_id), file)


@router.get("/assignments/{assignment_id}/photos/{photo_id}")
async def get_photo(
    assignment_id: str, photo_id: uuid.UUID, rt: RuntimeDep, actor: CoordinatorOrCommissioner
) -> StreamingResponse:
    """一张走访照片 / One visit photo."""
    await dispatch.get_assignment(rt, assignment_id, actor)
    return await photos.photo_response(rt, assignment_id, str(photo_id))
