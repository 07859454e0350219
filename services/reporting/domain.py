"""How events change the progress read model: pure functions, tolerant of duplicates and reordering."""

from typing import Any

VISIT_RANK = {"planned": 1, "completed": 2}
REPORT_FIELDS = ("households_reached", "consultations", "trainees", "books")


def apply_visit_event(
    current: dict[str, Any] | None, event_type: str, data: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """The visit's new read-model document (None if unchanged) and the per-city counter deltas.

    An assignment is counted as planned the first time any event about it arrives, and as completed
    once, whichever of `created` and `completed` comes first; a late `created` never undoes a completion.
    """
    status = "completed" if event_type == "volunteers.visit.completed.v1" else "planned"
    old_status = current["status"] if current else None
    if old_status is not None and VISIT_RANK[old_status] >= VISIT_RANK[status]:
        return None, {}
    deltas: dict[str, int] = {} if current else {"planned": 1}
    doc = {"_id": data["assignment_id"], "city_code": data["city_code"], "status": status}
    if status == "completed":
        deltas["completed"] = 1
        for field in REPORT_FIELDS:
            deltas[field] = int(data[field])
            doc[field] = int(data[field])
    return doc, deltas


def progress_view(
    target: int, cities: list[tuple[str, str, int]], rows: dict[str, dict[str, Any]], counters: tuple[str, ...]
) -> dict[str, Any]:
    """Totals and per-city rows for `GET /progress`; cities are (code, name, quota)."""
    counts = {code: {c: int(rows.get(code, {}).get(c, 0)) for c in counters} for code, _, _ in cities}
    per_city = [{"city_code": code, "name": name, "quota": quota, **counts[code]} for code, name, quota in cities]
    totals = {c: sum(row[c] for row in counts.values()) for c in counters}
    return {"target": target, **totals, "cities": per_city}
