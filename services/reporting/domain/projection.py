"""How events change the read models: per-entity state, and the counters that state contributes per scope.

Every entity's state is a function of the SET of its events (flags, highest versions, latest by event
time with the event id as tie-break), never of their order; counters are the sum of what each entity's
state contributes. So duplicates and any order give the same numbers, and a replay gives the same result.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from services.reporting.domain.entities import (
    PROVINCE,
    Contribution,
    Fact,
    State,
    activity_metrics,
    allocation_contribution,
    booking_metrics,
    city_day_scope,
    city_scope,
    day_scope,
    exhibit_metrics,
    merge_activity,
    merge_allocation,
    merge_booking,
    merge_exhibit,
    merge_openday,
    merge_venue,
    merge_visit,
    openday_metrics,
    unit_scope,
    venue_metrics,
    visit_metrics,
    zone_scope,
)

__all__ = [
    "PROVINCE",
    "Contribution",
    "Fact",
    "State",
    "city_day_scope",
    "city_scope",
    "day_scope",
    "unit_scope",
    "zone_scope",
]


# --- the table of entity kinds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of entity: which field identifies it, how facts merge, and what its state counts."""

    name: str
    key_field: str | None
    merge: Callable[[State, Fact], None]
    metrics: Callable[[State], dict[str, int]] | None = None
    date_field: str | None = None
    by_zone: bool = False


VISIT = Kind("visit", "assignment_id", merge_visit, visit_metrics, "visit_date")
VENUE = Kind("venue", "venue_id", merge_venue, venue_metrics)
OPENDAY = Kind("openday", "openday_id", merge_openday, openday_metrics, "date")
BOOKING = Kind("booking", "booking_id", merge_booking, booking_metrics, "date")
ACTIVITY = Kind("activity", "activity_id", merge_activity, activity_metrics, "date")
EXHIBIT = Kind("exhibit", "exhibit_id", merge_exhibit, exhibit_metrics, by_zone=True)
ALLOCATION = Kind("allocation", None, merge_allocation)

KINDS_BY_TYPE: dict[str, Kind] = {
    "volunteers.assignment.created.v1": VISIT,
    "volunteers.assignment.cancelled.v1": VISIT,
    "volunteers.visit.completed.v1": VISIT,
    "volunteers.visit.checked_in.v1": VISIT,
    "volunteers.assignment.accepted.v1": VISIT,
    "volunteers.assignment.declined.v1": VISIT,
    "volunteers.visit.flagged.v1": VISIT,
    "volunteers.visit.missed.v1": VISIT,
    "registration.venue.registered.v1": VENUE,
    "registration.venue.approved.v1": VENUE,
    "registration.venue.rejected.v1": VENUE,
    "registration.openday.published.v1": OPENDAY,
    "registration.booking.confirmed.v1": BOOKING,
    "registration.booking.cancelled.v1": BOOKING,
    "registration.booking.waitlisted.v1": BOOKING,
    "registration.booking.promoted.v1": BOOKING,
    "registration.visitor.checked_in.v1": BOOKING,
    "registration.activity.scheduled.v1": ACTIVITY,
    "registration.activity.held.v1": ACTIVITY,
    "registration.activity.cancelled.v1": ACTIVITY,
    "exhibits.exhibit.submitted.v1": EXHIBIT,
    "exhibits.review.submitted.v1": EXHIBIT,
    "exhibits.exhibit.withdrawn.v1": EXHIBIT,
    "exhibits.exhibit.accepted.v1": EXHIBIT,
    "exhibits.exhibit.rejected.v1": EXHIBIT,
    "exhibits.exhibit.waitlisted.v1": EXHIBIT,
    "exhibits.exhibit.confirmed.v1": EXHIBIT,
    "exhibits.allocation.released.v1": ALLOCATION,
    "exhibits.booth.assigned.v1": ALLOCATION,
}


KINDS_BY_NAME = {kind.name: kind for kind in KINDS_BY_TYPE.values()}


def entity_key(fact: Fact) -> str:
    """The id of the read-model document `fact` is about."""
    kind = KINDS_BY_TYPE[fact.type]
    return f"{kind.name}:{fact.data[kind.key_field]}" if kind.key_field else kind.name


def apply(state: State | None, fact: Fact) -> State:
    """The entity's state after `fact` (a new dict; `state` is left as it was)."""
    kind = KINDS_BY_TYPE[fact.type]
    new: State = _deep_copy(state) if state else {"kind": kind.name}
    kind.merge(new, fact)
    return new


def contribution(state: State | None) -> Contribution:
    """What an entity in `state` adds to each scope's counters (zeros left out)."""
    if not state:
        return {}
    kind = KINDS_BY_NAME[state["kind"]]
    if kind.metrics is None:
        return allocation_contribution(state)
    metrics = {m: v for m, v in kind.metrics(state).items() if v}
    if not metrics:
        return {}
    scopes = [PROVINCE]
    if state.get("city_code"):
        scopes.append(city_scope(state["city_code"]))
    day = state.get(kind.date_field) if kind.date_field else None
    if day:
        scopes.append(day_scope(day))
        if state.get("city_code"):
            scopes.append(city_day_scope(state["city_code"], day))
    if kind.by_zone and state.get("zone") is not None:
        scopes.append(zone_scope(int(state["zone"])))
    if state.get("org_id"):
        scopes.append(unit_scope(state["org_id"]))
    return {scope: dict(metrics) for scope in scopes}


def difference(old: Contribution, new: Contribution) -> Contribution:
    """Per scope, the nonzero changes that turn `old` counters into `new` ones."""
    out: Contribution = {}
    for scope in old.keys() | new.keys():
        before, after = old.get(scope, {}), new.get(scope, {})
        changes = {m: after.get(m, 0) - before.get(m, 0) for m in before.keys() | after.keys()}
        changes = {m: v for m, v in changes.items() if v}
        if changes:
            out[scope] = changes
    return out


def add_into(totals: Contribution, more: Contribution) -> None:
    """Add `more` into `totals` in place (used to rebuild counters from entity states)."""
    for scope, metrics in more.items():
        row = totals.setdefault(scope, {})
        for metric, value in metrics.items():
            row[metric] = row.get(metric, 0) + value


def merge_into(states: dict[str, State], fact: Fact) -> None:
    """Merge `fact` into its entity's state in place (a replay folds many facts per entity this way)."""
    kind = KINDS_BY_TYPE[fact.type]
    key = entity_key(fact)
    state = states.get(key)
    if state is None:
        state = states[key] = {"kind": kind.name}
    kind.merge(state, fact)


def totals_of(states: Iterable[State]) -> Contribution:
    """The counters of every scope: the sum of what each entity contributes."""
    totals: Contribution = {}
    for state in states:
        add_into(totals, contribution(state))
    return totals


def fold(facts: Iterable[Fact]) -> tuple[dict[str, State], Contribution]:
    """Entity states and counters from scratch: what a replay of `facts` produces."""
    states: dict[str, State] = {}
    for fact in facts:
        merge_into(states, fact)
    return states, totals_of(states.values())


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
