"""The reporting service: read models fed only by events, progress against targets, dashboards."""

from fastapi import FastAPI

from services.reporting import store
from services.reporting.api import router
from services.reporting.consumers import ROUTES
from shared.app import ServiceSpec, build_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="reporting",
        title="sciweek 进度与报告 reporting",
        router=router,
        routes=ROUTES,
        ensure_indexes=store.ensure_indexes,
    )
    return build_app(spec, settings or Settings(service="reporting"))
