"""Contract-valid events of the other three services, as their producers would publish them."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from shared.contracts import exhibits as ex
from shared.contracts import registration as reg
from shared.contracts import volunteers as vol
from shared.envelope import Envelope, new_event

GUILIN, NANNING = "450300", "450100"
ORGANISER = "gxast"  # 自治区科协 organised Guilin's themed activities
DAY = date(2020, 8, 24)
AT = datetime(2020, 8, 24, 10, tzinfo=UTC)


def event(event_type: str, data: BaseModel) -> Envelope:
    return new_event(event_type, data, source=f"sciweek/{event_type.split('.')[0]}")


def visit(assignment_id: str, city: str, org: str | None) -> dict[str, Any]:
    """What every visit event of the scenario says about who goes where."""
    where = {"city_code": city, "village_code": "v-1", "org_id": org}
    return {"assignment_id": assignment_id, "commissioner_id": "c-1", **where}


def created(assignment_id: str, city: str, org: str | None = None, day: date = DAY) -> Envelope:
    data = vol.AssignmentCreated(**visit(assignment_id, city, org), visit_date=day)
    return event("volunteers.assignment.created.v1", data)


def completed(
    assignment_id: str, city: str, counts: tuple[int, int, int, int], version: int = 1, org: str | None = None
) -> Envelope:
    households, consultations, trainees, books = counts
    data = vol.VisitCompleted(
        **visit(assignment_id, city, org),
        visit_date=DAY,
        completed_at=AT,
        households_reached=households,
        consultations=consultations,
        trainees=trainees,
        books=books,
        report_version=version,
    )
    return event("volunteers.visit.completed.v1", data)


def cancelled(assignment_id: str, city: str) -> Envelope:
    data = vol.AssignmentCancelled(assignment_id=assignment_id, city_code=city, cancelled_at=AT)
    return event("volunteers.assignment.cancelled.v1", data)


def visits() -> list[Envelope]:
    return [
        created("a1", GUILIN, org="gxaas"),  # a commissioner of 广西农业科学院
        completed("a1", GUILIN, (2, 1, 3, 4), org="gxaas"),
        completed("a1", GUILIN, (5, 2, 6, 8), version=2, org="gxaas"),  # an edited report: these counts win
        created("a2", GUILIN),
        cancelled("a2", GUILIN),
        completed("a3", NANNING, (1, 1, 1, 1)),
        created("a3", NANNING),
        created("a4", NANNING, org="gxaas"),
        later(created("a4", NANNING, org="gxu", day=DAY + timedelta(days=1))),  # reassigned: the later plan holds
    ]


def later(envelope: Envelope) -> Envelope:
    """The event a second after now (so it is surely the later of two announcements of the same thing)."""
    return envelope.model_copy(update={"time": datetime.now(UTC) + timedelta(seconds=1)})


def venues() -> list[Envelope]:
    def registered(venue_id: str, city: str) -> Envelope:
        data = reg.VenueRegistered(venue_id=venue_id, city_code=city, name="广西科技馆", org_type="science_museum")
        return event("registration.venue.registered.v1", data)

    approved = reg.VenueApproved(venue_id="v1", city_code=GUILIN, org_type="science_museum", approved_by="x")
    rejected = reg.VenueRejected(venue_id="v2", city_code=GUILIN, reason="资料不全")
    slot = {"starts_at": AT, "ends_at": AT + timedelta(hours=2), "capacity": 30}
    openday = reg.OpenDayPublished(
        openday_id="o1",
        venue_id="v1",
        city_code=GUILIN,
        org_type="science_museum",
        date=DAY,
        price_policy="free",
        sessions=[reg.SessionSlot(session_id=f"s{i}", **slot) for i in (1, 2)],
    )
    return [
        registered("v1", GUILIN),
        event("registration.venue.approved.v1", approved),
        registered("v2", GUILIN),
        event("registration.venue.rejected.v1", rejected),
        registered("v3", NANNING),
        event("registration.openday.published.v1", openday),
    ]


def bookings() -> list[Envelope]:
    where: dict[str, Any] = {"openday_id": "o1", "session_id": "s1", "venue_id": "v1", "city_code": GUILIN, "date": DAY}

    def confirmed(booking_id: str, party: int, policy: reg.PricePolicy) -> Envelope:
        data = reg.BookingConfirmed(booking_id=booking_id, party_size=party, price_policy=policy, **where)
        return event("registration.booking.confirmed.v1", data)

    gone = reg.BookingCancelled(booking_id="b2", party_size=2, cancelled_by="booker", **where)
    door = reg.VisitorCheckedIn(
        booking_id="b1", venue_id="v1", city_code=GUILIN, date=DAY, party_size=3, checked_in_at=AT
    )
    return [
        confirmed("b1", 3, "free"),
        event("registration.visitor.checked_in.v1", door),
        confirmed("b2", 2, "half_price"),
        event("registration.booking.cancelled.v1", gone),
        confirmed("b3", 4, "free"),
    ]


def activities() -> list[Envelope]:
    def scheduled(activity_id: str, kind: reg.ActivityType) -> Envelope:
        data = reg.ActivityScheduled(
            activity_id=activity_id, city_code=GUILIN, activity_type=kind, title="宣讲", date=DAY, org_id=ORGANISER
        )
        return event("registration.activity.scheduled.v1", data)

    held = reg.ActivityHeld(
        activity_id="act1",
        city_code=GUILIN,
        activity_type="policy_lecture",
        date=DAY,
        participants=120,
        org_id=ORGANISER,
    )
    off = reg.ActivityCancelled(activity_id="act3", city_code=GUILIN, activity_type="science_night", org_id=ORGANISER)
    return [
        scheduled("act1", "policy_lecture"),
        event("registration.activity.held.v1", held),
        scheduled("act2", "policy_lecture"),
        scheduled("act3", "science_night"),
        event("registration.activity.cancelled.v1", off),
    ]


def exhibits() -> list[Envelope]:
    def facts(exhibit_id: str, city: str | None, zone: int) -> dict[str, Any]:
        return {"exhibit_id": exhibit_id, "org_id": "gxu", "city_code": city, "zone": zone}

    e1, e2, e3 = facts("e1", GUILIN, 2), facts("e2", GUILIN, 2), facts("e3", None, 1)

    def decided(kind: str, f: dict[str, Any]) -> Envelope:
        model = {"accepted": ex.ExhibitAccepted, "rejected": ex.ExhibitRejected, "waitlisted": ex.ExhibitWaitlisted}
        model |= {"confirmed": ex.ExhibitConfirmed}
        return event(f"exhibits.exhibit.{kind}.v1", model[kind](decided_by="office", **f))

    def release(number: int, placed: list[tuple[dict[str, Any], float]]) -> Envelope:
        placements = [
            ex.Placement(
                exhibit_id=f["exhibit_id"],
                booth_id=f"B{i}",
                zone=f["zone"],
                city_code=f["city_code"],
                org_id=f["org_id"],
                area_m2=a,
            )
            for i, (f, a) in enumerate(placed)
        ]
        return event("exhibits.allocation.released.v1", ex.AllocationReleased(release=number, placements=placements))

    return [
        *(event("exhibits.exhibit.submitted.v1", ex.ExhibitSubmitted(title="检测试剂盒", **f)) for f in (e1, e2, e3)),
        decided("accepted", e1),
        decided("confirmed", e1),
        decided("rejected", e2),
        decided("waitlisted", e3),
        decided("accepted", e3),
        release(1, [(e1, 9.0), (e3, 12.5)]),
        release(2, [(e1, 9.0)]),
    ]


def all_events() -> list[Envelope]:
    """The whole scenario, in the order the producers emitted it."""
    return [*visits(), *venues(), *bookings(), *activities(), *exhibits()]


# What the scenario must produce, whatever the order and however often each event arrives.
EXPECTED = {
    "city:450300": {
        "planned": 1,
        "completed": 1,
        "households_reached": 5,
        "consultations": 2,
        "trainees": 6,
        "books": 8,
        "visits_cancelled": 1,
        "venues_registered": 2,
        "venues_approved": 1,
        "venues_rejected": 1,
        "opendays": 1,
        "opendays_free": 1,
        "sessions": 2,
        "seats": 60,
        "bookings": 2,
        "bookings_free": 2,
        "booked_people": 7,
        "bookings_cancelled": 1,
        "visitors": 3,
        "visitors_free": 3,
        "activities_scheduled": 2,
        "activities_held": 1,
        "activities_cancelled": 1,
        "participants": 120,
        "activities.policy_lecture.scheduled": 2,
        "activities.policy_lecture.held": 1,
        "activities.policy_lecture.participants": 120,
        "exhibits_submitted": 2,
        "exhibits_accepted": 1,
        "exhibits_confirmed": 1,
        "exhibits_rejected": 1,
        "exhibits_placed": 1,
        "area_used_dm2": 900,
    },
    "city:450100": {"planned": 2, "completed": 1, "households_reached": 1, "consultations": 1, "trainees": 1}
    | {"books": 1, "venues_registered": 1},
    "zone:1": {"exhibits_submitted": 1, "exhibits_accepted": 1},
    # 广西大学 (a supporting unit) submitted all three exhibits, from Guilin and as a provincial unit
    "unit:gxu": {"exhibits_submitted": 3, "exhibits_accepted": 2, "exhibits_confirmed": 1, "exhibits_rejected": 1}
    | {"exhibits_placed": 1, "area_used_dm2": 900, "planned": 1},
    # 广西农业科学院's commissioner made visit a1 (the edited report's counts)
    "unit:gxaas": {"planned": 1, "completed": 1, "households_reached": 5, "consultations": 2, "trainees": 6}
    | {"books": 8},
    "day:2020-08-25": {"planned": 1},  # a4, moved to the 25th when it was reassigned
    "unit:gxast": {"activities_scheduled": 2, "activities_held": 1, "activities_cancelled": 1, "participants": 120}
    | {"activities.policy_lecture.scheduled": 2, "activities.policy_lecture.held": 1}
    | {"activities.policy_lecture.participants": 120},
    "zone:2": {"exhibits_submitted": 2, "exhibits_accepted": 1, "exhibits_confirmed": 1, "exhibits_rejected": 1}
    | {"exhibits_placed": 1, "area_used_dm2": 900},
}
