"""Targets: done against value, what the schedule expects by a day, and whether the target is behind pace."""

import itertools
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Target:
    """A value a counter in a scope should reach by `due`, on a linear (or a configured) schedule from `start`."""

    id: str
    metric: str
    scope: str
    value: float
    start: date
    due: date
    schedule: tuple[tuple[date, float], ...] = field(default_factory=tuple)
    source: str = "programme"

    def expected_share(self, day: date) -> float:
        """The share of `value` due by the end of `day`."""
        points = self.schedule or ((self.start, 0.0), (self.due, 1.0))
        if day < points[0][0]:
            return 0.0
        for (d0, s0), (d1, s1) in itertools.pairwise(points):
            if d0 <= day < d1:
                return s0 + (s1 - s0) * (day - d0).days / max(1, (d1 - d0).days)
        return points[-1][1]


def progress(target: Target, done: float, day: date) -> dict[str, Any]:
    """done / value, expected by `day`, and the behind-pace flag (behind if below the whole units expected)."""
    expected = target.value * target.expected_share(day)
    return {
        "id": target.id,
        "metric": target.metric,
        "scope": target.scope,
        "value": target.value,
        "due": target.due,
        "done": done,
        "ratio": done / target.value if target.value else 1.0,
        "expected": round(expected, 2),
        "behind": done < math.floor(expected + 1e-9),
        "source": target.source,
    }
