"""The reporting service: read models fed only by events, progress against targets, summaries, dashboards."""

from fastapi import FastAPI

from services.reporting import store
from services.reporting.api import pages, router
from services.reporting.consumers import ROUTES
from services.reporting.service import jobs, notifications
from services.reporting.service.business_metrics import BusinessMetrics
from shared.app import ServiceSpec, build_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="reporting")
    business = BusinessMetrics()
    spec = ServiceSpec(
        name="reporting",
        title="sciweek 进度与报告 reporting",
        router=router,
        pages=pages,
        routes=ROUTES,
        ensure_indexes=store.ensure_indexes,
        jobs={
            "deadlines-and-pace": (settings.reporting_job_interval_s, jobs.check_deadlines_and_pace),
            "business-metrics": (settings.reporting_metrics_refresh_s, business.refresh),
            "deliver-notices": (settings.reporting_notify_interval_s, notifications.deliver),
        },
    )
    return build_app(spec, settings)
