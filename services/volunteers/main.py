"""The volunteers service: dispatch of commissioner visits and the field volunteers' API."""

from pathlib import Path

from fastapi import FastAPI

from services.volunteers import store
from services.volunteers.api import router
from services.volunteers.service.missed import jobs
from shared.app import ServiceSpec, build_app
from shared.settings import Settings

APP_DIR = Path(__file__).resolve().parent / "app"  # the commissioners' field app (PWA), served at /app/
# the city coordinators' console (desktop, Element Plus), served at /coordinator/
COORDINATOR_DIR = Path(__file__).resolve().parent / "static" / "coordinator"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="volunteers")
    spec = ServiceSpec(
        name="volunteers",
        title="sciweek 科技特派员 volunteers",
        router=router,
        ensure_indexes=store.ensure_indexes,
        jobs=jobs(settings),
        description="科技特派员进村入户精准扶贫：特派员、村屯与贫困户、任务数、派单与自动排班，"
        "以及特派员手机端（离线优先）的同步接口。/ Commissioners' visits to villages and households.",
        links={
            "城市协调台 / city coordinators' console": "coordinator/",
            "协调员：需核实的走访 / flagged visits (API)": "api/v1/flags",
        },
        apps={"/app": APP_DIR, "/coordinator": COORDINATOR_DIR},
    )
    return build_app(spec, settings)
