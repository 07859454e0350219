"""HTTP routes of the reporting service, one module per concern."""

from fastapi import APIRouter

from services.reporting.api import dashboard, exports, notifications, progress, summaries, targets

router = APIRouter()
router.include_router(progress.router)
router.include_router(summaries.router)
router.include_router(targets.router)
router.include_router(dashboard.router)
router.include_router(exports.router)
router.include_router(notifications.router)

pages = dashboard.pages
