"""The progress projection's rules, without infrastructure."""

import itertools
from typing import Any

from services.reporting.domain import apply_visit_event, progress_view

CREATED = ("volunteers.assignment.created.v1", {"assignment_id": "a1", "city_code": "450100"})
COMPLETED = (
    "volunteers.visit.completed.v1",
    {
        "assignment_id": "a1",
        "city_code": "450100",
        "households_reached": 3,
        "consultations": 4,
        "trainees": 10,
        "books": 20,
    },
)


def replay(events: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any] | None, dict[str, int]]:
    doc: dict[str, Any] | None = None
    totals: dict[str, int] = {}
    for event_type, data in events:
        new, deltas = apply_visit_event(doc, event_type, data)
        doc = new or doc
        for key, value in deltas.items():
            totals[key] = totals.get(key, 0) + value
    return doc, totals


def test_created_then_completed_counts_one_planned_and_one_completed() -> None:
    doc, totals = replay([CREATED, COMPLETED])
    assert doc is not None and doc["status"] == "completed"
    assert totals == {
        "planned": 1,
        "completed": 1,
        "households_reached": 3,
        "consultations": 4,
        "trainees": 10,
        "books": 20,
    }


def test_any_order_and_repeats_give_the_same_result() -> None:
    expected = replay([CREATED, COMPLETED])
    for order in itertools.permutations([CREATED, COMPLETED, COMPLETED, CREATED]):
        assert replay(list(order)) == expected


def test_planned_only() -> None:
    doc, totals = replay([CREATED])
    assert doc is not None and doc["status"] == "planned"
    assert totals == {"planned": 1}


def test_progress_view_totals_add_up_per_city() -> None:
    rows = {"450100": {"completed": 2, "planned": 3}, "450200": {"completed": 1}}
    view = progress_view(1000, [("450100", "南宁", 100), ("450200", "柳州", 80)], rows, ("planned", "completed"))
    assert view["target"] == 1000 and view["completed"] == 3 and view["planned"] == 3
    assert [c["completed"] for c in view["cities"]] == [2, 1]
    assert view["cities"][1] == {"city_code": "450200", "name": "柳州", "quota": 80, "planned": 0, "completed": 1}
