"""Events of the volunteers service."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.contracts.base import CityCode, Contract, Count


class AssignmentCreated(Contract):
    """A coordinator planned a commissioner's visit to a village on a date."""

    assignment_id: str
    commissioner_id: str
    city_code: CityCode
    village_code: str
    visit_date: date
    household_ids: list[str] = Field(default_factory=list)


class VisitCompleted(Contract):
    """A commissioner completed a visit and reported what was done."""

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


CONTRACTS: dict[str, type[BaseModel]] = {
    "volunteers.assignment.created.v1": AssignmentCreated,
    "volunteers.visit.completed.v1": VisitCompleted,
}
