"""Deadline rules: the due day counts whole in the programme's time zone; lock, exception, reminders."""

from datetime import UTC, date, datetime

import pytest

from services.reporting.domain.deadlines import Deadline, check_editable, rates, reminder_due, status
from shared.rules import RuleViolation

DUE = Deadline(date(2020, 9, 8), "Asia/Shanghai", lock_after_days=7)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2020, 9, day, hour, tzinfo=UTC)


def test_the_last_minute_of_the_due_day_in_beijing_is_on_time() -> None:
    assert status({"submitted_at": datetime(2020, 9, 8, 15, 59, tzinfo=UTC)}, DUE, at(20)) == "on_time"
    assert status({"submitted_at": datetime(2020, 9, 8, 16, 0, tzinfo=UTC)}, DUE, at(20)) == "late"
    assert status(None, DUE, at(8, 15)) == "pending" and status(None, DUE, at(8, 16)) == "missing"


def test_locked_after_expiry_until_an_exception_runs() -> None:
    check_editable(None, DUE, at(15, 15))
    with pytest.raises(RuleViolation) as locked:
        check_editable(None, DUE, at(15, 16))
    assert locked.value.code == "summary_locked"
    check_editable({"exception_until": at(21)}, DUE, at(20))
    with pytest.raises(RuleViolation):
        check_editable({"exception_until": at(21)}, DUE, at(22))


def test_reminders_three_days_and_one_day_before_once_each() -> None:
    assert reminder_due(None, DUE, at(5, 1)) == 3
    assert reminder_due({"reminders": [3]}, DUE, at(5, 1)) is None
    assert reminder_due(None, DUE, at(6, 1)) is None
    assert reminder_due(None, DUE, at(7, 1)) == 1
    assert reminder_due({"submitted_at": at(1)}, DUE, at(7, 1)) is None


def test_completeness_and_timeliness() -> None:
    assert rates(["on_time", "late", "missing", "missing"]) == {"completeness": 0.5, "timeliness": 0.25}
