"""The notices a coordinator, a unit's liaison or the office should see: reminders, targets behind pace."""

from typing import Any

from services.reporting.service import notifications
from shared.app import RuntimeDep, api_router
from shared.auth import SummaryAuthor
from shared.http import Cursor, Limit

router = api_router(tags=["notifications"])


@router.get("/notifications")
async def list_notifications(
    rt: RuntimeDep, principal: SummaryAuthor, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """通知：总结截止提醒、目标进度落后 / Notices for the caller: summary reminders, targets behind pace."""
    return await notifications.feed(rt, principal, cursor, limit)
