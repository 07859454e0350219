"""The one clock every route, job, deadline and booking window reads."""

from datetime import datetime

from shared.mongo import utcnow


class Clock:
    """The wall clock (UTC, millisecond precision as BSON stores it), unless a test fixes the instant."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed or utcnow()
