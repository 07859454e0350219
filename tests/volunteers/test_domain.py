"""Pure rules: the field operations' merge and the auto-planner (no database, no broker)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.volunteers.domain import assignments, field, planner
from shared.contracts import event_type_of
from shared.rules import RuleViolation

NOW = datetime(2020, 8, 24, 10, tzinfo=UTC)
CTX = field.FieldContext(NOW, (23.0, 108.0), 3000, 500, timedelta(hours=48))
REPORT = field.VisitReport(households_reached=["h1"], consultations=1, people_trained=2, books_handed_out=3)


def visit(**extra: Any) -> dict[str, Any]:
    cmd = assignments.NewAssignment("c1", "450100", "v1", date(2020, 8, 24), ["h1", "h2"])
    return {**assignments.plan_assignment(cmd, "coord", NOW), **extra}


def announced(outcome: field.Outcome) -> list[tuple[str, int]]:
    """The events an outcome announces, by wire name, with the report version they carry."""
    return [(event_type_of(e), getattr(e, "report_version", 0)) for e in outcome.events]


COMPLETED = "volunteers.visit.completed.v1"


def op(kind: field.OpType, payload: Any = None, at: datetime = NOW) -> field.Operation:
    return field.Operation("op", kind, "a1", at, payload)


def test_operations_never_move_a_visit_backwards() -> None:
    done = field.apply_operation(visit(), op("report", REPORT), CTX)
    assert done.doc is not None and done.doc["status"] == "completed" and announced(done) == [(COMPLETED, 1)]
    late_accept = field.apply_operation(done.doc, op("accept"), CTX)
    assert late_accept.status == "unchanged" and late_accept.doc is None
    late_check_in = field.apply_operation(
        done.doc, op("check_in", field.Position(lat=23.0, lon=108.0, accuracy_m=5)), CTX
    )
    assert late_check_in.doc is not None and late_check_in.doc["status"] == "completed"
    assert len(late_check_in.doc["positions"]) == 1 and late_check_in.events == []
    with pytest.raises(RuleViolation) as refused:
        field.apply_operation(done.doc, op("decline", field.Decline(reason="x")), CTX)
    assert refused.value.code == "already_started"


def test_report_edits_wait_for_their_base_and_stale_ones_become_conflicts() -> None:
    third = field.ReportEdit(base_version=2, report=REPORT.model_copy(update={"consultations": 3}))
    waiting = field.apply_operation(visit(), op("edit_report", third), CTX)
    assert waiting.status == "deferred" and waiting.doc is not None
    second = field.ReportEdit(base_version=1, report=REPORT.model_copy(update={"consultations": 2}))
    waiting = field.apply_operation(waiting.doc, op("edit_report", second), CTX)
    assert waiting.doc is not None
    done = field.apply_operation(waiting.doc, op("report", REPORT), CTX)
    assert done.doc is not None and announced(done) == [(COMPLETED, 1), (COMPLETED, 2), (COMPLETED, 3)]
    assert done.doc["report"]["consultations"] == 3 and done.doc["pending_edits"] == []
    stale = field.apply_operation(done.doc, op("edit_report", second), CTX)
    assert stale.status == "conflict" and stale.flags[0][0] == "conflict"
    assert stale.doc is not None and stale.doc["report"]["consultations"] == 3


def test_positions_far_away_or_imprecise_or_late_are_flagged_not_refused() -> None:
    far = field.Position(lat=23.1, lon=108.0, accuracy_m=800)  # ~11 km north, poor accuracy
    outcome = field.apply_operation(visit(), op("check_in", far, at=NOW - timedelta(days=3)), CTX)
    assert outcome.status == "applied"
    assert sorted(f for f, _ in outcome.flags) == ["geofence", "poor_accuracy"]
    assert outcome.late_hours == 72  # the session raises the late-sync flag, once per batch
    on_time = field.apply_operation(outcome.doc or {}, op("check_out", far), CTX)
    assert on_time.late_hours is None


def test_a_report_with_zero_book_lines_is_accepted_and_the_zeros_dropped() -> None:
    books = [field.Book(title="柑橘栽培", count=3), field.Book(title="养蜂技术", count=0)]
    report = field.VisitReport(households_reached=["h1"], consultations=1, people_trained=0, books=books)
    done = field.apply_operation(visit(), op("report", report), CTX)
    assert done.status == "applied" and done.doc is not None
    assert done.doc["report"]["books"] == [{"title": "柑橘栽培", "count": 3}]
    assert done.doc["report"]["books_handed_out"] == 3


def test_cancelled_and_completed_visits() -> None:
    with pytest.raises(RuleViolation) as refused:
        assignments.cancelled(visit(status="completed"), "", NOW)
    assert refused.value.code == "visit_completed"
    report_on_cancelled = field.apply_operation(visit(status="cancelled"), op("report", REPORT), CTX)
    assert report_on_cancelled.status == "conflict" and report_on_cancelled.events == []


def person(cid: str, skills: list[str], lat: float, dates: list[str], per_day: int = 1) -> dict[str, Any]:
    return {
        "_id": cid,
        "expertise": skills,
        "available_dates": dates,
        "max_visits_per_day": per_day,
        "base_lat": lat,
        "base_lon": 108.0,
    }


def test_planner_matches_needs_prefers_near_and_respects_days() -> None:
    people = [person("grower", ["种植"], 23.0, ["d1"], 2), person("vet", ["养殖"], 23.0, ["d1", "d2"])]
    villages = [
        {"_id": "near", "lat": 23.01, "lon": 108.0, "needs": ["种植"]},
        {"_id": "far", "lat": 24.0, "lon": 108.0, "needs": ["种植"]},
        {"_id": "farm", "lat": 23.5, "lon": 108.0, "needs": []},
    ]
    households = {"farm": [{"_id": "h1", "needs": ["养殖"]}, {"_id": "h2", "needs": ["电商"]}]}
    chosen = planner.propose(people, villages, households, {"vet:d1": 1}, {}, 10)
    got = {(p.commissioner_id, p.village_code, p.visit_date) for p in chosen}
    assert got == {("grower", "near", "d1"), ("grower", "far", "d1"), ("vet", "farm", "d2")}
    assert next(p for p in chosen if p.village_code == "farm").household_ids == ["h1"]
    assert [p.village_code for p in planner.propose(people, villages, households, {}, {}, 1)] == ["near"]
