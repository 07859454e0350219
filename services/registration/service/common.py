"""What every use case shares: the caller's scope as a filter, and the answer for ids outside it."""

from typing import Any

from shared.auth import Principal
from shared.rules import RuleViolation


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


def not_found(what: str) -> RuleViolation:
    """404 for ids that do not exist or lie outside the caller's scope (existence is not revealed)."""
    names = {"venue": "场馆", "openday": "开放日", "booking": "预约", "activity": "活动"}
    return RuleViolation(f"{what}_not_found", f"{names.get(what, what)}不存在 / no such {what}", "not_found")
