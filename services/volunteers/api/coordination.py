"""Coordinators' views: quotas, progress against them, flagged visits."""

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import Field

from services.volunteers.api.common import PAGE, Body
from services.volunteers.service import coordination
from services.volunteers.service.views import assignment_view
from shared.app import RuntimeDep, api_router
from shared.auth import Admin, Coordinator
from shared.http import AfterId, decode_cursor, encode_cursor

FlagKind = Literal["geofence", "poor_accuracy", "late_sync", "conflict"]

router = api_router(tags=["coordination"])


class QuotaIn(Body):
    quota: int = Field(ge=0, le=100_000)


class ResolveIn(Body):
    note: str = Field(default="", max_length=1000)
    apply_report: bool = False


@router.get("/quotas")
async def get_quotas(rt: RuntimeDep, actor: Coordinator) -> dict[str, int]:
    """各市走访任务数 / Each city's visit quota."""
    return await coordination.quotas(rt)


@router.put("/quotas/{city_code}")
async def put_quota(city_code: str, body: QuotaIn, rt: RuntimeDep, actor: Admin) -> dict[str, int]:
    """调整一市任务数（仅自治区管理员）/ Set a city's quota (admin)."""
    return await coordination.set_quota(rt, city_code, body.quota)


@router.get("/dispatch/progress")
async def dispatch_progress(rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """本市对照任务数的进度 / Progress against quota per city in scope."""
    return await coordination.progress(rt, actor)


@router.get("/flags")
async def list_flags(
    rt: RuntimeDep,
    actor: Coordinator,
    city_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    resolved: bool = False,
    kind: FlagKind | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """需要核实的走访（超范围、定位差、迟同步、冲突）/ Flagged visits: geofence, accuracy, late sync, conflicts.

    `kind` picks one kind; `counts` gives how many flags of each kind the same city and state hold.
    """
    after = decode_cursor(cursor, AfterId).after if cursor else None
    docs, counts = await coordination.list_flags(rt, actor, city_code, resolved, kind, after, PAGE)
    nxt = encode_cursor({"after": docs[-1]["_id"]}) if len(docs) == PAGE else None
    return {"items": [assignment_view(d) for d in docs], "counts": counts, "next_cursor": nxt}


@router.post("/flags/{flag_id}/resolve")
async def resolve_flag(flag_id: str, body: ResolveIn, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """处理标记；冲突可采用被拒的报告 / Resolve a flag; for a conflict, optionally adopt the conflicting report."""
    return assignment_view(await coordination.resolve_flag(rt, flag_id, body.note, body.apply_report, actor))
