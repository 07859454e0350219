"""The registration service: venues, open days, public bookings, door check-in, the activity calendar."""

import logging
from pathlib import Path

from fastapi import FastAPI

from services.registration import store
from services.registration.api import router
from services.registration.api.calendar import pages
from services.registration.service.bookings import expire_offers, reclaim_holds
from shared.app import ServiceSpec, build_app
from shared.settings import Settings
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
DEV_QR_SECRET_PREFIX = "sciweek-development-only-"
APPS = Path(__file__).resolve().parent / "app"
# the public booking pages, the venue operators' (and coordinators') portal, the door scanner
APP_PATHS = {"/book": APPS / "book", "/operator": APPS / "operator", "/door": APPS / "door"}


async def pass_on_expired_offers(uow: UnitOfWork) -> None:
    """Periodic job: expired waiting-list offers pass to the next in line."""
    await expire_offers(uow)


async def return_abandoned_seats(uow: UnitOfWork) -> None:
    """Periodic job: seats held by bookings that never committed go back."""
    await reclaim_holds(uow)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The registration service's app (clients are created in its lifespan)."""
    settings = settings or Settings(service="registration")
    if settings.registration_qr_secret.get_secret_value().startswith(DEV_QR_SECRET_PREFIX):
        log.warning("using the development QR ticket secret: set SCIWEEK_REGISTRATION_QR_SECRET in production")
    spec = ServiceSpec(
        name="registration",
        title="sciweek 开放日与预约 registration",
        router=router,
        ensure_indexes=store.ensure_indexes,
        pages=pages,  # the public activity calendar at /calendar/
        description="科研机构和高新技术企业开放日：场馆登记与审核、开放日与场次、公众预约与候补、"
        "入场扫码，以及各市主题活动日历。/ Open days, public bookings, door check-in, the activity calendar.",
        links={"公众：可预约的开放日 / open days to book (API)": "api/v1/public/opendays"},
        jobs={
            "expire-offers": (settings.registration_offer_sweep_s, pass_on_expired_offers),
            "reclaim-holds": (settings.registration_hold_timeout_s / 4, return_abandoned_seats),
        },
        apps=APP_PATHS,
    )
    return build_app(spec, settings)
