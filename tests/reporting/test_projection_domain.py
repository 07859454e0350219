"""The projection's rules without infrastructure: any order, any repetition, the same result."""

import random

from services.reporting.domain.projection import Fact, fold
from tests.reporting.scenario import EXPECTED, all_events


def facts() -> list[Fact]:
    return [Fact(e.type, e.data, e.time.isoformat(), e.dedup_key) for e in all_events()]


def test_the_scenario_in_order_gives_the_expected_counters() -> None:
    _, totals = fold(facts())
    for scope, expected in EXPECTED.items():
        assert totals[scope] == expected, scope


def test_shuffles_and_repeats_give_identical_states_and_counters() -> None:
    scenario = facts()
    expected = fold(scenario)
    rng = random.Random(7)
    for _ in range(200):
        mixed = scenario + rng.sample(scenario, 10)
        rng.shuffle(mixed)
        assert fold(mixed) == expected


def test_a_lower_report_version_arriving_later_is_ignored() -> None:
    first, edit = [f for f in facts() if f.data.get("assignment_id") == "a1" and f.type.endswith("completed.v1")]
    states, _ = fold([edit, first])
    assert states["visit:a1"]["counts"]["books"] == 8 and states["visit:a1"]["version"] == 2
