"""The exhibits service: submissions, review, booth allocation, the cloud exhibition."""

from fastapi import FastAPI

from services.exhibits import store
from services.exhibits.api import router
from shared.app import ServiceSpec, build_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="exhibits", title="sciweek 科技展 exhibits", router=router, ensure_indexes=store.ensure_indexes
    )
    return build_app(spec, settings or Settings(service="exhibits"))
