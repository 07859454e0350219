"""Events of the volunteers service."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.base import CityCode, Contract, Count

Flag = Literal["geofence", "poor_accuracy", "late_sync", "conflict"]


class AssignmentCreated(Contract):
    """A coordinator planned a commissioner's visit to a village on a date."""

    assignment_id: str
    commissioner_id: str
    city_code: CityCode
    village_code: str
    visit_date: date
    household_ids: list[str] = Field(default_factory=list)
    org_id: str | None = None  # the commissioner's dispatching unit (派出单位), if known


class AssignmentAccepted(Contract):
    """The commissioner accepted the assignment."""

    assignment_id: str
    commissioner_id: str
    city_code: CityCode
    accepted_at: datetime


class AssignmentDeclined(Contract):
    """The commissioner declined the assignment; it waits in the coordinator's queue for reassignment."""

    assignment_id: str
    commissioner_id: str
    city_code: CityCode
    reason: str
    declined_at: datetime


class AssignmentCancelled(Contract):
    """A coordinator cancelled the assignment (it will not be visited)."""

    assignment_id: str
    city_code: CityCode
    reason: str = ""
    cancelled_at: datetime


class VisitCheckedIn(Contract):
    """The commissioner checked in at the village (flags say if the position looked wrong)."""

    assignment_id: str
    commissioner_id: str
    city_code: CityCode
    village_code: str
    checked_in_at: datetime
    flags: list[Flag] = Field(default_factory=list)


class VisitCompleted(Contract):
    """A visit's report: the first completes the visit; an edit re-sends it with a higher report_version."""

    assignment_id: str
    commissioner_id: str
    city_code: CityCode
    village_code: str
    visit_date: date
    completed_at: datetime
    households_reached: Count
    consultations: Count
    trainees: Count
    books: Count
    report_version: int = Field(1, ge=1)
    org_id: str | None = None  # the dispatching unit of the commissioner who made the visit, if known


class VisitFlagged(Contract):
    """Something about a visit needs a coordinator's eye (geofence, GPS accuracy, late sync, conflict)."""

    assignment_id: str
    city_code: CityCode
    flag: Flag
    detail: str = ""


class VisitMissed(Contract):
    """The visit date passed without a check-in."""

    assignment_id: str
    city_code: CityCode
    visit_date: date


class QuotaChanged(Contract):
    """A city's target of commissioner visits was changed (the programme file holds the first one)."""

    city_code: CityCode
    quota: int = Field(ge=0)
    changed_at: datetime


CONTRACTS: dict[str, type[BaseModel]] = {
    "volunteers.assignment.created.v1": AssignmentCreated,
    "volunteers.assignment.accepted.v1": AssignmentAccepted,
    "volunteers.assignment.declined.v1": AssignmentDeclined,
    "volunteers.assignment.cancelled.v1": AssignmentCancelled,
    "volunteers.visit.checked_in.v1": VisitCheckedIn,
    "volunteers.visit.completed.v1": VisitCompleted,
    "volunteers.visit.flagged.v1": VisitFlagged,
    "volunteers.visit.missed.v1": VisitMissed,
    "volunteers.quota.changed.v1": QuotaChanged,
}
