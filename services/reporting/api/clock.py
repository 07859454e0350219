"""The time deadlines are judged by: the real clock, or a fixed instant a test or a rehearsal sets."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from shared.mongo import utcnow


class Clock:
    """`now()` is the wall clock unless `fixed` is set."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed or utcnow()


def current_time(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()


NowDep = Annotated[datetime, Depends(current_time)]
