"""The reporting service: read models fed only by events, progress against targets, summaries, dashboards."""

from pathlib import Path

from fastapi import FastAPI

from services.reporting import store
from services.reporting.api import pages, router
from services.reporting.consumers import ROUTES
from services.reporting.service import exports, jobs, notifications
from services.reporting.service.business_metrics import BusinessMetrics
from shared.app import ServiceSpec, build_app
from shared.settings import Settings

# the summary editor of city coordinators, supporting units' liaisons and the office, served at /summaries/
SUMMARIES_DIR = Path(__file__).resolve().parent / "static" / "summaries"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="reporting")
    exports.prefer_font(settings.reporting_pdf_font)
    business = BusinessMetrics()
    spec = ServiceSpec(
        name="reporting",
        title="sciweek 进度与报告 reporting",
        router=router,
        pages=pages,
        routes=ROUTES,
        ensure_indexes=store.ensure_indexes,
        description="进度与报告：只由事件构建的统计，目标与进度、落后提醒、各市与单位总结及截止、"
        "导出，以及实时看板。/ Progress, targets, summaries and deadlines, exports, the live dashboard.",
        links={
            "实时看板 / live dashboard": "dashboard",
            "总结填报 / summary editor": "summaries/",
            "总结截止 / deadlines (API)": "api/v1/deadlines",
        },
        apps={"/summaries": SUMMARIES_DIR},
        jobs={
            "deadlines-and-pace": (settings.reporting_job_interval_s, jobs.check_deadlines_and_pace),
            "business-metrics": (settings.reporting_metrics_refresh_s, business.refresh),
            "deliver-notices": (settings.reporting_notify_interval_s, notifications.deliver),
        },
    )
    return build_app(spec, settings)
