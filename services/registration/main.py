"""The registration service: venues, open days, public bookings, door check-in."""

from fastapi import FastAPI

from services.registration import store
from services.registration.api import router
from shared.app import ServiceSpec, build_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="registration",
        title="sciweek 开放日与预约 registration",
        router=router,
        ensure_indexes=store.ensure_indexes,
    )
    return build_app(spec, settings or Settings(service="registration"))
