"""The one clock every route, job, deadline and booking window reads, and the rehearsal clock (演练).

A rehearsal clock runs at programme time: `now = start + (wall − anchor) × rate`. It comes from the settings
(`SCIWEEK_CLOCK`, `SCIWEEK_CLOCK_RATE`, `SCIWEEK_CLOCK_ANCHOR`) or, where the settings allow it
(`SCIWEEK_CLOCK_CONTROL`), from an admin's `PUT /api/v1/clock`, kept in the service's database so every
replica and a restarted process follow it. Technical timers (leases, idempotency records, outbox ages,
seat holds, token expiry) stay on the wall clock: they are about processes, not about the programme.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.mongo import utcnow

MIN_JOB_INTERVAL_S = 1.0  # under a fast rehearsal clock a periodic job still waits this long between runs


def _ms(at: datetime) -> datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Rehearsal:
    """Programme time `start` at wall time `anchor`, running `rate` times as fast as the wall clock."""

    start: datetime
    anchor: datetime
    rate: float = 1.0
    source: str = "settings"  # "settings" or "control" (set at run time by an admin)

    def at(self, wall: datetime) -> datetime:
        return _ms(self.start + (wall - self.anchor) * self.rate)

    def document(self) -> dict[str, Any]:
        return {"start": self.start, "anchor": self.anchor, "rate": self.rate}


class Clock:
    """The wall clock (UTC, millisecond precision as BSON stores it), a rehearsal clock, or a test's fixed instant."""

    def __init__(self, rehearsal: Rehearsal | None = None) -> None:
        self.fixed: datetime | None = None
        self.configured = rehearsal  # what the settings say; a run-time setting may override it
        self.rehearsal = rehearsal

    def now(self) -> datetime:
        if self.fixed is not None:
            return self.fixed
        wall = utcnow()
        return wall if self.rehearsal is None else self.rehearsal.at(wall)

    def set(self, at: datetime, rate: float) -> Rehearsal:
        """Run at programme time `at` from now on, `rate` times as fast as the wall clock."""
        self.rehearsal = Rehearsal(_ms(at.astimezone(UTC)), utcnow(), rate, "control")
        return self.rehearsal

    def follow(self, stored: dict[str, Any] | None) -> None:
        """Adopt a run-time setting kept in the database (None: back to what the settings say)."""
        if stored is None:
            self.rehearsal = self.configured
            return
        start, anchor = (v if v.tzinfo else v.replace(tzinfo=UTC) for v in (stored["start"], stored["anchor"]))
        self.rehearsal = Rehearsal(start, anchor, float(stored["rate"]), "control")

    @property
    def rate(self) -> float:
        return 1.0 if self.rehearsal is None or self.fixed is not None else self.rehearsal.rate

    def wall_interval(self, programme_s: float) -> float:
        """How long to sleep for `programme_s` of programme time (a periodic job's interval)."""
        if self.rate <= 1.0:
            return programme_s
        return min(programme_s, max(MIN_JOB_INTERVAL_S, programme_s / self.rate))

    def state(self) -> dict[str, Any]:
        """What the API shows: the time, and whether (and how fast) a rehearsal clock runs."""
        r = self.rehearsal
        return {
            "now": self.now(),
            "wall": utcnow(),
            "rehearsal": r is not None and self.fixed is None,
            "rate": self.rate,
            "source": r.source if r is not None else "wall",
            "started_at": r.start if r is not None else None,
        }


def rehearsal_from(start: datetime | None, rate: float, anchor: datetime | None) -> Rehearsal | None:
    """The rehearsal of the settings, anchored at `anchor` or now (the process's start)."""
    if start is None:
        return None
    return Rehearsal(_ms(start.astimezone(UTC)), _ms((anchor or utcnow()).astimezone(UTC)), rate)
