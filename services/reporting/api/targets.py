"""Targets and their pace: the programme's, and any an admin adds."""

from typing import Any

from services.reporting.service import targets
from shared.app import NowDep, RuntimeDep, api_router
from shared.auth import Admin, Coordinator
from shared.problems import Problem
from shared.programme import TargetSpec

router = api_router(tags=["targets"])


@router.get("/targets")
async def list_targets(rt: RuntimeDep, principal: Coordinator, now: NowDep) -> dict[str, Any]:
    """目标与进度：完成/目标、按进度应完成、是否落后 / Done against target, expected by today, behind pace."""
    shown = [t for t in await targets.all_targets(rt) if targets.visible(principal, t.scope)]
    return {"as_of": now, "items": await targets.progress_of(rt, shown, now)}


@router.put("/targets/{target_id}", status_code=204)
async def put_target(rt: RuntimeDep, principal: Admin, target_id: str, spec: TargetSpec) -> None:
    """管理员新增或修改目标（指标、范围、数值、截止日）/ Add or replace a target (idempotent by its id)."""
    if spec.id != target_id:
        raise Problem(422, "target_id_mismatch", detail="路径与正文的目标编号不一致 / id in path and body differ")
    if any(t.id == target_id and t.source == "programme" for t in targets.programme_targets(rt.programme)):
        raise Problem(409, "target_from_programme", detail="该目标来自配置文件 / defined in the programme file")
    await targets.save_target(rt, spec)
