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


# each contract class is registered under exactly one wire name (declared above, never derived from its name)
EVENT_TYPES: dict[type[BaseModel], str] = {model: event_type for event_type, model in CONTRACTS.items()}
if len(EVENT_TYPES) != len(CONTRACTS):
    raise RuntimeError("a contract class is registered under two event types")


def event_type_of(data: BaseModel) -> str:
    """The wire name of an event payload, by its contract class."""
    try:
        return EVENT_TYPES[type(data)]
    except KeyError:
        raise UnknownEventType(type(data).__name__) from None


def validate_data(event_type: str, data: dict[str, Any]) -> BaseModel:
    """Validate an event's `data` against its contract (raises UnknownEventType or ValidationError)."""
    model = CONTRACTS.get(event_type)
    if model is None:
        raise UnknownEventType(event_type)
    return model.model_validate(data)
