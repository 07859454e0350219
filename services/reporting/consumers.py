"""The reporting service's subscriptions: every event type a projection reads goes to `project_event`."""

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.reporting import store
from services.reporting.domain.projection import KINDS_BY_TYPE, Fact
from shared.envelope import Envelope
from shared.idempotency import Handler
from shared.mongo import Document, Session


def fact_of(event: Envelope, data: Any) -> Fact:
    """The projection's view of a validated event (the same for a live delivery and for a replay)."""
    return Fact(event.type, data.model_dump(mode="json"), event.time.isoformat(), event.dedup_key)


async def project_event(db: AsyncDatabase[Document], session: Session, event: Envelope, data: Any) -> None:
    await store.project(db, session, fact_of(event, data))


ROUTES: dict[str, Handler] = dict.fromkeys(KINDS_BY_TYPE, project_event)
