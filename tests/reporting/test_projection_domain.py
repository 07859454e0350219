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


def test_a_waiting_party_counts_once_as_waitlisted_and_promoted_whatever_the_order() -> None:
    where = {"booking_id": "b-w", "venue_id": "v-1", "city_code": "450100", "date": "2020-08-25", "party_size": 2}
    waited = Fact("registration.booking.waitlisted.v1", {**where, "session_id": "s-1"}, "2020-08-24T01:00:00", "w")
    offered = Fact(
        "registration.booking.promoted.v1",
        {**where, "session_id": "s-1", "offer_expires_at": "2020-08-24T03:00:00+00:00"},
        "2020-08-24T02:00:00",
        "p",
    )
    booked = Fact(
        "registration.booking.confirmed.v1",
        {**where, "openday_id": "o-1", "session_id": "s-1", "price_policy": "free"},
        "2020-08-24T02:30:00",
        "c",
    )
    in_order = fold([waited, offered, booked])
    for mixed in ([booked, offered, waited], [offered, waited, booked, waited]):
        assert fold(mixed) == in_order
    city = in_order[1]["city:450100"]
    assert (city["waitlisted"], city["waitlist_promoted"], city["bookings"], city["booked_people"]) == (1, 1, 1, 2)
    only_waiting = fold([waited])[1]["city:450100"]
    assert (only_waiting["waitlisted"], only_waiting.get("waitlist_promoted", 0), only_waiting.get("bookings", 0)) == (
        1,
        0,
        0,
    )
