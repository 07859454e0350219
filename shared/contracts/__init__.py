"""Event contracts: the payload model of every event type, by its wire name.

A contract only grows within a version (new optional fields); a breaking change is a new `.v2`.
"""

from typing import Any

from pydantic import BaseModel

from shared.contracts import exhibits, registration, reporting, volunteers

CONTRACTS: dict[str, type[BaseModel]] = {
    **volunteers.CONTRACTS,
    **registration.CONTRACTS,
    **exhibits.CONTRACTS,
    **reporting.CONTRACTS,
}


class UnknownEventType(LookupError):
    """No contract is registered under this event type."""


def validate_data(event_type: str, data: dict[str, Any]) -> BaseModel:
    """Validate an event's `data` against its contract (raises UnknownEventType or ValidationError)."""
    model = CONTRACTS.get(event_type)
    if model is None:
        raise UnknownEventType(event_type)
    return model.model_validate(data)
