"""The reporting service's subscriptions: event type -> projection function."""

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.reporting import domain
from services.reporting.store import CITY_PROGRESS, VISITS
from shared.contracts.exhibits import ExhibitSubmitted
from shared.contracts.registration import VenueRegistered
from shared.envelope import Envelope
from shared.idempotency import Handler
from shared.mongo import Document, Session


async def _add_to_city(db: AsyncDatabase[Document], session: Session, city: str, deltas: dict[str, int]) -> None:
    if deltas:
        await db[CITY_PROGRESS].update_one({"_id": city}, {"$inc": deltas}, upsert=True, session=session)


async def project_visit(db: AsyncDatabase[Document], session: Session, event: Envelope, data: Any) -> None:
    current = await db[VISITS].find_one({"_id": data.assignment_id}, session=session)
    doc, deltas = domain.apply_visit_event(current, event.type, data.model_dump(mode="json"))
    if doc is not None:
        await db[VISITS].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)
    await _add_to_city(db, session, data.city_code, deltas)


async def count_venue(db: AsyncDatabase[Document], session: Session, event: Envelope, data: Any) -> None:
    assert isinstance(data, VenueRegistered)
    await _add_to_city(db, session, data.city_code, {"venues_registered": 1})


async def count_exhibit(db: AsyncDatabase[Document], session: Session, event: Envelope, data: Any) -> None:
    assert isinstance(data, ExhibitSubmitted)
    await _add_to_city(db, session, data.city_code or "provincial", {"exhibits_submitted": 1})


ROUTES: dict[str, Handler] = {
    "volunteers.assignment.created.v1": project_visit,
    "volunteers.visit.completed.v1": project_visit,
    "registration.venue.registered.v1": count_venue,
    "exhibits.exhibit.submitted.v1": count_exhibit,
}
