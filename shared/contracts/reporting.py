"""Events of the reporting service."""

from datetime import date, datetime

from pydantic import BaseModel

from shared.contracts.base import Contract


class TargetBehindPace(Contract):
    """A target fell behind the pace its schedule expects by today (sent once per falling behind)."""

    target_id: str
    metric: str
    scope: str
    done: float
    expected: float
    value: float
    due: date
    as_of: datetime


class SummaryReminder(Contract):
    """A summary is due soon and not yet submitted (3 days and 1 day before the deadline)."""

    summary_id: str
    scope: str
    deadline: date
    days_left: int


CONTRACTS: dict[str, type[BaseModel]] = {
    "reporting.target.behind_pace.v1": TargetBehindPace,
    "reporting.summary.reminder.v1": SummaryReminder,
}
