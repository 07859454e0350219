"""How each kind of entity merges the facts about it, and what its state counts.

Every merge is a function of the SET of an entity's facts (flags, highest versions, latest by event time
with the event id as tie-break), never of their order, so duplicates and any order give the same state.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

State = dict[str, Any]
Contribution = dict[str, dict[str, int]]  # scope -> metric -> amount
PROVINCE = "province"
REPORT_FIELDS = ("households_reached", "consultations", "trainees", "books")
DECISIONS = {
    "exhibits.exhibit.withdrawn.v1": "withdrawn",
    "exhibits.exhibit.accepted.v1": "accepted",
    "exhibits.exhibit.rejected.v1": "rejected",
    "exhibits.exhibit.waitlisted.v1": "waitlisted",
    "exhibits.exhibit.confirmed.v1": "confirmed",
}


@dataclass(frozen=True)
class Fact:
    """One event as the projection sees it: its type, payload (JSON form), time (ISO) and id."""

    type: str
    data: dict[str, Any]
    time: str
    id: str

    @property
    def stamp(self) -> list[str]:
        """Orders facts about one entity: event time, then id (so equal times still decide the same way)."""
        return [self.time, self.id]


def city_scope(code: str) -> str:
    return f"city:{code}"


def day_scope(day: str) -> str:
    return f"day:{day}"


def city_day_scope(code: str, day: str) -> str:
    return f"city:{code}|day:{day}"


def zone_scope(zone: int) -> str:
    return f"zone:{zone}"


def unit_scope(code: str) -> str:
    """A supporting unit (an organisation id): its exhibits are counted here too."""
    return f"unit:{code}"


def is_scope(scope: str, cities: Collection[str], zones: Collection[int], units: Collection[str]) -> bool:
    """Whether the projections keep counters for `scope`: the province, a known city, zone or unit, a day."""
    if scope == PROVINCE:
        return True
    kind, _, name = scope.partition(":")
    if kind == "city" and "|day:" in name:
        city, _, day = name.partition("|day:")
        return city in cities and _is_date(day)
    known: dict[str, Collection[str]] = {"city": cities, "zone": [str(z) for z in zones], "unit": units}
    return name in known[kind] if kind in known else kind == "day" and _is_date(name)


def _is_date(text: str) -> bool:
    """An ISO day as the events carry it (2020-08-24)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _newer(state: State, field: str, fact: Fact) -> bool:
    """True (and the stamp recorded) if `fact` is later than the one that last set `field`."""
    stamp_field = f"{field}_at"
    if state.get(stamp_field) is not None and state[stamp_field] >= fact.stamp:
        return False
    state[stamp_field] = fact.stamp
    return True


def _where(state: State, data: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if data.get(field) is not None:
            state[field] = data[field]


# --- volunteers: visits -------------------------------------------------------------------------


def merge_visit(state: State, fact: Fact) -> None:
    d = fact.data
    _where(state, d, "city_code")
    where = {"visit_date": d.get("visit_date"), "org_id": d.get("org_id")}
    if fact.type == "volunteers.assignment.created.v1":
        state["created"] = True
        if _newer(state, "plan", fact):  # a reassignment announces the visit again: the latest plan holds
            state["plan"] = where
    elif fact.type == "volunteers.assignment.cancelled.v1":
        state["cancelled"] = True
    elif fact.type in ("volunteers.assignment.accepted.v1", "volunteers.assignment.declined.v1"):
        if _newer(state, "answer", fact):  # the commissioner's latest answer (a re-plan asks again)
            state["answer"] = "accepted" if fact.type.endswith("accepted.v1") else "declined"
    elif fact.type == "volunteers.visit.flagged.v1":  # which kinds of flag a visit carries (a set)
        state["flags"] = sorted({*state.get("flags", []), d["flag"]})
    elif fact.type == "volunteers.visit.missed.v1":
        state["missed"] = True
    elif fact.type == "volunteers.visit.checked_in.v1":
        state["checked_in"] = True
    else:  # visit.completed: the highest report_version's counts win; equal versions keep the earlier stamp
        version = int(d.get("report_version", 1))
        old = int(state.get("version", 0))
        if version > old or (version == old and fact.stamp < state["report_at"]):
            state["version"] = version
            state["report_at"] = fact.stamp
            state["counts"] = {f: int(d[f]) for f in REPORT_FIELDS}
            state["report"] = where
    # the day and the commissioner's unit the visit counts for: its report's once reported, else the plan's
    chosen = state.get("report") or state.get("plan")
    for field, value in (chosen or {}).items():
        if value is not None:
            state[field] = value
        else:
            state.pop(field, None)


FLAG_KINDS = ("geofence", "poor_accuracy", "late_sync", "conflict")


def visit_metrics(state: State) -> dict[str, int]:
    completed = int(state.get("version", 0)) > 0
    cancelled = bool(state.get("cancelled", False))
    # missed: its day passed without a check-in, and nothing happened since (a late check-in revives it)
    missed = bool(state.get("missed")) and not (completed or cancelled or state.get("checked_in"))
    planned = (state.get("created", False) or completed) and not cancelled and not missed
    out = {"planned": int(planned), "completed": int(completed), "visits_cancelled": int(cancelled)}
    out["visits_missed"] = int(missed)
    # an answer counts until the visit is planned again (a newer plan asks the new commissioner afresh)
    answer = state.get("answer") if state.get("answer_at", []) > state.get("plan_at", []) else None
    open_visit = not (completed or cancelled)
    out["visits_accepted"] = int(answer == "accepted" and open_visit)
    out["visits_declined"] = int(answer == "declined" and open_visit)
    flags = state.get("flags", [])
    out["visits_flagged"] = int(bool(flags))
    out.update({f"flags_{kind}": int(kind in flags) for kind in FLAG_KINDS})
    if completed:
        out.update(state["counts"])
    return out


# --- registration: venues, open days, bookings, activities ---------------------------------------


def merge_venue(state: State, fact: Fact) -> None:
    _where(state, fact.data, "city_code", "org_type", "name")
    if fact.type == "registration.venue.registered.v1":
        state["registered"] = True
    elif _newer(state, "decision", fact):
        state["decision"] = "approved" if fact.type.endswith("approved.v1") else "rejected"


def venue_metrics(state: State) -> dict[str, int]:
    decision = state.get("decision")
    return {
        "venues_registered": int(state.get("registered", False)),
        "venues_approved": int(decision == "approved"),
        "venues_rejected": int(decision == "rejected"),
    }


def merge_openday(state: State, fact: Fact) -> None:
    if _newer(state, "published", fact):
        d = fact.data
        state.update(
            city_code=d["city_code"],
            date=d["date"],
            price_policy=d["price_policy"],
            online=bool(d.get("online")),
            sessions=len(d.get("sessions", [])),
            seats=sum(int(s["capacity"]) for s in d.get("sessions", [])),
        )


def openday_metrics(state: State) -> dict[str, int]:
    return {
        "opendays": 1,
        f"opendays_{state['price_policy']}": 1,
        "opendays_online": int(state["online"]),
        "sessions": int(state["sessions"]),
        "seats": int(state["seats"]),
    }


def merge_booking(state: State, fact: Fact) -> None:
    _where(state, fact.data, "city_code", "date", "venue_id")
    if fact.type == "registration.booking.confirmed.v1":
        state["confirmed"] = True
        state["party_size"] = int(fact.data["party_size"])
        state["price_policy"] = fact.data["price_policy"]
    elif fact.type == "registration.booking.cancelled.v1":
        state["cancelled"] = True
        state.setdefault("party_size", int(fact.data["party_size"]))
    elif fact.type == "registration.booking.waitlisted.v1":  # demand beyond the seats: once per party
        state["waitlisted"] = True
    elif fact.type == "registration.booking.promoted.v1":
        state["waitlisted"] = state["promoted"] = True
    elif "checked_in_party" not in state or fact.stamp < state["checked_in_at"]:  # once per booking
        state["checked_in_party"] = int(fact.data["party_size"])
        state["checked_in_at"] = fact.stamp


def booking_metrics(state: State) -> dict[str, int]:
    active = state.get("confirmed", False) and not state.get("cancelled", False)
    visitors = int(state.get("checked_in_party", 0))
    policy = state.get("price_policy")
    out = {
        "bookings": int(active),
        "booked_people": int(state["party_size"]) if active else 0,
        "bookings_cancelled": int(state.get("cancelled", False)),
        "waitlisted": int(state.get("waitlisted", False)),
        "waitlist_promoted": int(state.get("promoted", False)),
        "visitors": visitors,
    }
    if policy is not None:
        out[f"bookings_{policy}"] = int(active)
        out[f"visitors_{policy}"] = visitors
    return out


def merge_activity(state: State, fact: Fact) -> None:
    d = fact.data
    _where(state, d, "city_code", "activity_type", "title", "date", "org_id")
    if fact.type == "registration.activity.held.v1" and _newer(state, "participants", fact):
        state["participants"] = int(d["participants"])
    if _newer(state, "status", fact):
        state["status"] = fact.type.split(".")[2]  # scheduled | held | cancelled


def activity_metrics(state: State) -> dict[str, int]:
    status = state.get("status")
    held = status == "held"
    scheduled = status in ("scheduled", "held")
    participants = int(state.get("participants", 0)) if held else 0
    kind = state["activity_type"]
    return {
        "activities_scheduled": int(scheduled),
        "activities_held": int(held),
        "activities_cancelled": int(status == "cancelled"),
        "participants": participants,
        f"activities.{kind}.scheduled": int(scheduled),
        f"activities.{kind}.held": int(held),
        f"activities.{kind}.participants": participants,
    }


# --- exhibits: decisions and placement ------------------------------------------------------------


def merge_exhibit(state: State, fact: Fact) -> None:
    _where(state, fact.data, "city_code", "zone", "title", "org_id")
    if fact.type == "exhibits.exhibit.submitted.v1":
        state["submitted"] = True
    elif fact.type == "exhibits.review.submitted.v1":  # each reviewer once, however often they re-score
        state["reviewers"] = sorted({*state.get("reviewers", []), fact.data["reviewer_id"]})
    elif _newer(state, "decision", fact):
        state["decision"] = DECISIONS[fact.type]


def exhibit_metrics(state: State) -> dict[str, int]:
    decision = state.get("decision")
    return {
        "exhibits_submitted": int(state.get("submitted", False)),
        "exhibits_accepted": int(decision in ("accepted", "confirmed")),
        "exhibits_confirmed": int(decision == "confirmed"),
        "exhibits_rejected": int(decision == "rejected"),
        "exhibits_waitlisted": int(decision == "waitlisted"),
        "exhibits_withdrawn": int(decision == "withdrawn"),
        "reviews": len(state.get("reviewers", [])),
    }


def _placement(p: dict[str, Any]) -> dict[str, Any]:
    # areas in whole dm² so sums are exact integers whatever the order they are added in
    area_dm2 = round(float(p["area_m2"]) * 100)
    return {"zone": int(p["zone"]), "city_code": p.get("city_code"), "org_id": p.get("org_id"), "area_dm2": area_dm2}


def merge_allocation(state: State, fact: Fact) -> None:
    """The highest release's placement, overlaid with hand placements made in a later release."""
    d = fact.data
    release = int(d["release"])
    if fact.type == "exhibits.allocation.released.v1":
        if release > int(state.get("release", 0)):
            state["release"] = release
            state["placements"] = {p["exhibit_id"]: _placement(p) for p in d["placements"]}
        return
    manual = state.setdefault("manual", {})
    prior = manual.get(d["exhibit_id"])
    if prior is None or [release, fact.stamp] > [prior["release"], prior["at"]]:
        manual[d["exhibit_id"]] = {**_placement(d), "release": release, "at": fact.stamp}


def effective_placements(state: State) -> dict[str, dict[str, Any]]:
    placed = dict(state.get("placements", {}))
    release = int(state.get("release", 0))
    for exhibit_id, p in state.get("manual", {}).items():
        if p["release"] > release:
            placed[exhibit_id] = p
    return placed


def allocation_contribution(state: State) -> Contribution:
    out: Contribution = {}
    for p in effective_placements(state).values():
        scopes = [PROVINCE, zone_scope(p["zone"])] + ([city_scope(p["city_code"])] if p["city_code"] else [])
        scopes += [unit_scope(p["org_id"])] if p.get("org_id") else []
        for scope in scopes:
            row = out.setdefault(scope, {})
            row["exhibits_placed"] = row.get("exhibits_placed", 0) + 1
            row["area_used_dm2"] = row.get("area_used_dm2", 0) + p["area_dm2"]
    return out
