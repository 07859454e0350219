"""The CloudEvents-like envelope every event travels in, and the context that flows into it."""

import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import validate_data

EVENT_TYPE_PATTERN = r"^[a-z]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$"

# Set per HTTP request (X-Request-ID) and per consumed event, so the events a change causes carry it.
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id_var: ContextVar[str | None] = ContextVar("causation_id", default=None)


class Envelope(BaseModel):
    """One event: `id` with `source` is the dedup key; `type` is the routing key."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: str = "1.0"
    id: str = Field(min_length=1, max_length=64)
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    source: str = Field(min_length=1)
    time: AwareDatetime
    subject: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    data: dict[str, Any]

    @property
    def dedup_key(self) -> str:
        return f"{self.source}/{self.id}"


def new_event(type: str, data: BaseModel, *, source: str, subject: str | None = None) -> Envelope:
    """An envelope for `data`, checked against the contract registered for `type`."""
    checked = validate_data(type, data.model_dump(mode="json"))
    event_id = str(uuid.uuid4())
    return Envelope(
        id=event_id,
        type=type,
        source=source,
        time=datetime.now(UTC),
        subject=subject,
        correlation_id=correlation_id_var.get() or event_id,
        causation_id=causation_id_var.get(),
        data=checked.model_dump(mode="json"),
    )
