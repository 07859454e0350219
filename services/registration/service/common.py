"""What every use case shares: recording events in the outbox, and the caller's scope as a filter."""

from typing import Any

from pydantic import BaseModel

from shared.app import Runtime
from shared.auth import Principal
from shared.envelope import new_event
from shared.mongo import Session
from shared.outbox import add_to_outbox
from shared.problems import Problem


async def record_event(rt: Runtime, session: Session, event_type: str, data: BaseModel, subject: str) -> None:
    """Write one event to the outbox inside the caller's transaction."""
    event = new_event(event_type, data, source=rt.settings.source, subject=subject)
    await add_to_outbox(rt.db, session, event)


def venue_scope(actor: Principal) -> dict[str, Any]:
    """The venues a caller may see: an operator its own, a coordinator its city's, the office all."""
    if actor.role == "admin":
        return {}
    if actor.role == "city":
        return {"city_code": actor.city}
    return {"$or": [{"owner": actor.sub}, {"_id": {"$in": actor.venues}}]}


def operated_by(actor: Principal) -> dict[str, Any]:
    """The venues a caller may operate (open days, bookings, the door): the operator's own, or any for admin."""
    return {} if actor.role == "admin" else venue_scope(actor)


def not_found(what: str) -> Problem:
    """404 for ids that do not exist or lie outside the caller's scope (existence is not revealed)."""
    names = {"venue": "场馆", "openday": "开放日", "booking": "预约", "activity": "活动"}
    return Problem(404, f"{what}_not_found", detail=f"{names.get(what, what)}不存在 / no such {what}")
