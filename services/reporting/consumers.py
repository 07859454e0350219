"""The reporting service's subscriptions: every event type a projection reads, applied a batch at a time."""

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.reporting import store
from services.reporting.domain.notifications import BEHIND_PACE, REMINDER, notice
from services.reporting.domain.projection import KINDS_BY_TYPE, Fact
from shared.envelope import Envelope
from shared.idempotency import Batched, Route
from shared.mongo import Document, Session


def fact_of(event: Envelope, data: Any) -> Fact:
    """The projection's view of a validated event (the same for a live delivery and for a replay)."""
    return Fact(event.type, data.model_dump(mode="json"), event.time.isoformat(), event.dedup_key)


async def project_events(db: AsyncDatabase[Document], session: Session, events: list[tuple[Envelope, Any]]) -> None:
    await store.project(db, session, [fact_of(event, data) for event, data in events])


async def record_quota(db: AsyncDatabase[Document], session: Session, event: Envelope, data: Any) -> None:
    await store.record_quota(db, session, data.city_code, data.quota, data.changed_at)


async def record_notice(db: AsyncDatabase[Document], session: Session, event: Envelope, data: Any) -> None:
    """A reminder or behind-pace notice joins its audience's feed, waiting to be e-mailed."""
    doc = {
        "_id": event.dedup_key,
        **notice(event.type, data.model_dump(mode="json")),
        "created_at": event.time,
        "delivery": "pending",
    }
    await db[store.NOTIFICATIONS].insert_one(doc, session=session)


ROUTES: dict[str, Route] = {
    **dict.fromkeys(KINDS_BY_TYPE, Batched(project_events)),
    "volunteers.quota.changed.v1": record_quota,
    REMINDER: record_notice,
    BEHIND_PACE: record_notice,
}
