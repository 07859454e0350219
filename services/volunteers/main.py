"""The volunteers service: dispatch of commissioner visits and the field volunteers' API."""

from pathlib import Path

from fastapi import FastAPI

from services.volunteers import store
from services.volunteers.api import router
from services.volunteers.service.missed import jobs
from shared.app import ServiceSpec, build_app
from shared.settings import Settings

APP_DIR = Path(__file__).resolve().parent / "app"  # the commissioners' field app (PWA), served at /app/


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="volunteers")
    spec = ServiceSpec(
        name="volunteers",
        title="sciweek 科技特派员 volunteers",
        router=router,
        ensure_indexes=store.ensure_indexes,
        jobs=jobs(settings),
        apps={"/app": APP_DIR},
    )
    return build_app(spec, settings)
