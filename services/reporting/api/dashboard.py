"""The web dashboard: its page and static files, its numbers, the public headline, and live updates (SSE)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sse_starlette.sse import EventSourceResponse

from services.reporting import store
from services.reporting.api.access import Public
from services.reporting.service import dashboard
from shared.app import NowDep, RuntimeDep, api_router
from shared.auth import Coordinator
from shared.http import PublicRateLimit
from shared.problems import Problem

router = api_router(tags=["dashboard"])
pages = APIRouter(include_in_schema=False)  # the page itself and its files, outside the API
STATIC = Path(__file__).resolve().parent.parent / "static"
FILES = {"index.html", "dashboard.js", "dashboard.css"}


@pages.get("/dashboard")
async def page() -> FileResponse:
    """科技活动周实时看板 / The live dashboard page."""
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@pages.get("/dashboard/static/{name:path}")
async def static_file(name: str) -> FileResponse:
    if name not in FILES:
        raise Problem(404, "not_found", detail="没有该文件 / no such file")
    return FileResponse(STATIC / name, headers={"Cache-Control": "public, max-age=300"})


@router.get("/dashboard")
async def dashboard_numbers(rt: RuntimeDep, principal: Coordinator, now: NowDep) -> dict[str, Any]:
    """看板数据 / Every dashboard number, from the projections (constant time in the number of events)."""
    return await dashboard.dashboard(rt, principal, now)


@router.get("/dashboard/public")
async def public_headline(rt: RuntimeDep, now: NowDep, _: Public) -> dict[str, Any]:
    """公开的总体数字 / Province-wide headline numbers without a token (if the deployment allows it)."""
    return await dashboard.headline(rt, now)


@router.get("/dashboard/stream")
async def stream(rt: RuntimeDep, request: Request, _: PublicRateLimit) -> EventSourceResponse:
    """SSE: a `changed` event carrying the projection version whenever new events were applied."""

    async def versions() -> AsyncIterator[dict[str, Any]]:
        last = -1
        while not await request.is_disconnected():
            version = await store.feed_version(rt.db)
            if version != last:
                last = version
                yield {"event": "changed", "data": str(version)}
            await asyncio.sleep(rt.settings.reporting_stream_poll_s)

    return EventSourceResponse(versions(), ping=15)
