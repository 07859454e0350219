"""Summary deadlines (after DHIS2's data sets): on time, late, missing; lock after expiry; exceptions; reminders."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.rules import RuleViolation

Status = Literal["pending", "on_time", "late", "missing"]


@dataclass(frozen=True)
class Deadline:
    """A summary's due date (the whole day counts, in the programme's time zone) and when it locks."""

    due: date
    timezone: str
    lock_after_days: int
    reminder_days: tuple[int, ...] = (3, 1)

    @property
    def due_at(self) -> datetime:
        """The first instant after the due day."""
        return datetime.combine(self.due + timedelta(days=1), time(), ZoneInfo(self.timezone))

    @property
    def locks_at(self) -> datetime:
        return self.due_at + timedelta(days=self.lock_after_days)

    def days_left(self, now: datetime) -> int:
        return (self.due - now.astimezone(ZoneInfo(self.timezone)).date()).days


def status(summary: dict[str, Any] | None, deadline: Deadline, now: datetime) -> Status:
    """On time or late once submitted; missing once the due day has passed without a submission."""
    submitted = (summary or {}).get("submitted_at")
    if submitted is not None:
        return "on_time" if submitted < deadline.due_at else "late"
    return "missing" if now >= deadline.due_at else "pending"


def is_locked(summary: dict[str, Any] | None, deadline: Deadline, now: datetime) -> bool:
    """Locked after the expiry, unless an admin granted an exception that still runs."""
    if now < deadline.locks_at:
        return False
    until = (summary or {}).get("exception_until")
    return until is None or now >= until


def check_editable(summary: dict[str, Any] | None, deadline: Deadline, now: datetime) -> None:
    if is_locked(summary, deadline, now):
        raise RuleViolation(
            "summary_locked",
            f"总结已于 {deadline.locks_at:%Y-%m-%d %H:%M} 锁定，需管理员开例外 / "
            "the summary is locked; an admin can grant an exception",
        )


def check_submittable(summary: dict[str, Any] | None, deadline: Deadline, now: datetime) -> None:
    check_editable(summary, deadline, now)
    if (summary or {}).get("submitted_at") is not None:
        raise RuleViolation("summary_already_submitted", "总结已提交 / the summary was already submitted")


def reminder_due(summary: dict[str, Any] | None, deadline: Deadline, now: datetime) -> int | None:
    """Days left if a reminder is due now (3 and 1 days before by default) and not sent yet."""
    if (summary or {}).get("submitted_at") is not None:
        return None
    left = deadline.days_left(now)
    sent = (summary or {}).get("reminders", [])
    return left if left in deadline.reminder_days and left not in sent else None


def rates(statuses: list[Status]) -> dict[str, float]:
    """Completeness (submitted at all) and timeliness (on time) as shares of all expected summaries."""
    n = len(statuses) or 1
    submitted = sum(s in ("on_time", "late") for s in statuses)
    return {"completeness": submitted / n, "timeliness": sum(s == "on_time" for s in statuses) / n}
