"""Pure rules: the waiting-list order, session times, the door's answers."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.registration.domain import rules
from shared.rules import RuleViolation

TZ = ZoneInfo("Asia/Shanghai")


def party(size: int, name: str) -> dict[str, object]:
    return {"_id": name, "party_size": size}


def test_promotion_serves_the_line_in_order_and_stops_at_the_first_that_does_not_fit() -> None:
    line = [party(2, "a"), party(3, "b"), party(1, "c")]
    promotion = rules.promote_in_order(line, 4)
    assert [p["_id"] for p in promotion.offered] == ["a"] and promotion.left == 2
    assert rules.promote_in_order(line, 6).left == 0
    assert rules.promote_in_order([], 3).left == 3


def test_offers_never_outlive_the_session() -> None:
    now = datetime(2020, 8, 24, 1, 0, tzinfo=UTC)
    assert rules.offer_expiry(now, 1800, now + timedelta(hours=2)) == now + timedelta(minutes=30)
    assert rules.offer_expiry(now, 1800, now + timedelta(minutes=10)) == now + timedelta(minutes=10)
    assert rules.offer_expiry(now, 1800, now) is None


def test_sessions_must_not_overlap_or_run_backwards() -> None:
    day = date(2020, 8, 24)
    ok = rules.session_times(day, [rules.SlotIn(time(14), time(15), 7), rules.SlotIn(time(9), time(10), 5)], TZ)
    assert [(start.hour, capacity) for start, _, capacity in ok] == [(9, 5), (14, 7)]
    with pytest.raises(RuleViolation) as overlap:
        rules.session_times(day, [rules.SlotIn(time(9), time(11), 5), rules.SlotIn(time(10), time(12), 5)], TZ)
    assert overlap.value.code == "sessions_overlap"
    with pytest.raises(RuleViolation) as backwards:
        rules.session_times(day, [rules.SlotIn(time(11), time(9), 5)], TZ)
    assert backwards.value.code == "invalid_session"


def test_the_door_gives_a_reason() -> None:
    claims = {"v": "venue-1", "d": "2020-08-24"}
    assert rules.check_ticket(claims, "venue-2", date(2020, 8, 24)).outcome == "wrong_venue"  # type: ignore[union-attr]
    assert rules.check_ticket(claims, "venue-1", date(2020, 8, 25)).outcome == "wrong_day"  # type: ignore[union-attr]
    assert rules.check_ticket(claims, "venue-1", date(2020, 8, 24)) is None
    at = datetime(2020, 8, 24, 1, 5, tzinfo=UTC)
    assert rules.admit({"status": "confirmed", "checked_in_at": at}, TZ).detail.endswith("09:05")
    assert rules.admit({"status": "cancelled"}, TZ).outcome == "booking_cancelled"
    assert rules.admit({"status": "waitlisted"}, TZ).outcome == "not_confirmed"
    assert rules.admit({"status": "confirmed"}, TZ).outcome == "checked_in"


def test_booking_codes_are_readable_and_distinct() -> None:
    codes = {rules.booking_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(len(c) == 10 and set(c) <= set(rules.CODE_ALPHABET) for c in codes)
