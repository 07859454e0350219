"""Review scores: weighted criteria per review, aggregated over reviewers by mean or median."""

import statistics
from typing import Literal

from shared.rules import RuleViolation

Aggregate = Literal["mean", "median"]


def weighted_score(scores: dict[str, int], weights: dict[str, float]) -> float:
    """The weighted 1–5 score of one review; every criterion must be scored, nothing else."""
    missing = sorted(set(weights) - set(scores))
    unknown = sorted(set(scores) - set(weights))
    if missing or unknown:
        raise RuleViolation(
            "criteria_mismatch",
            f"评分项须为 / score exactly these criteria: {', '.join(sorted(weights))}"
            f" (missing {missing}, unknown {unknown})",
            "invalid",
        )
    if any(not 1 <= value <= 5 for value in scores.values()):
        raise RuleViolation("score_out_of_range", "评分须在 1–5 之间 / scores are 1–5", "invalid")
    total_weight = sum(weights.values())
    return round(sum(scores[c] * w for c, w in weights.items()) / total_weight, 4)


def aggregate(totals: list[float], how: Aggregate) -> float | None:
    """The exhibit's score over all its reviews (None without reviews)."""
    if not totals:
        return None
    return round(statistics.median(totals) if how == "median" else statistics.fmean(totals), 4)


def criteria_sheet(weights: dict[str, float], described: dict[str, tuple[str, str]]) -> list[dict[str, object]]:
    """The criteria as reviewers read them: id, name, description, weight and its share of the total, heaviest
    first; `described` maps an id to (name, description), and a criterion it lacks shows its id."""
    total = sum(weights.values())
    return [
        {
            "id": c,
            "name": described.get(c, (c, ""))[0],
            "description": described.get(c, (c, ""))[1],
            "weight": w,
            "share": round(w / total, 4),
        }
        for c, w in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
