"""Events of the exhibits service."""

from pydantic import BaseModel, Field

from shared.contracts.base import CityCode, Contract, Count


class ExhibitFacts(Contract):
    """What every exhibit event says about the exhibit (city_code is None for provincial departments)."""

    exhibit_id: str
    org_id: str
    city_code: CityCode | None = None
    zone: int
    industry: str | None = None
    physical: bool = False
    footprint_m2: float = Field(0.0, ge=0)


class ExhibitSubmitted(ExhibitFacts):
    """An exhibitor submitted an exhibit for review."""

    title: str


class ExhibitWithdrawn(ExhibitFacts):
    """The exhibitor withdrew the exhibit."""


class ReviewSubmitted(Contract):
    """A reviewer scored an exhibit (the weighted total; comments never leave the exhibits service)."""

    exhibit_id: str
    reviewer_id: str
    zone: int
    score: float = Field(ge=0, le=5)


class ExhibitDecided(ExhibitFacts):
    """The office decided on an exhibit; the event type says which way."""

    decided_by: str


class ExhibitAccepted(ExhibitDecided):
    """The exhibit was accepted for the exhibition."""


class ExhibitRejected(ExhibitDecided):
    """The exhibit was rejected."""


class ExhibitWaitlisted(ExhibitDecided):
    """The exhibit was put on the waiting list."""


class ExhibitConfirmed(ExhibitDecided):
    """The exhibitor confirmed an accepted exhibit will be shown."""


class Placement(Contract):
    """One exhibit on one booth in a release."""

    exhibit_id: str
    booth_id: str
    zone: int
    city_code: CityCode | None = None
    org_id: str | None = None  # the exhibiting organisation (added in place: optional, so v1 still reads)
    area_m2: float = Field(ge=0)


class BoothAssigned(Placement):
    """An exhibit was placed on a booth (by the allocator or by hand) in an allocation release."""

    release: int = Field(ge=1)


class AllocationReleased(Contract):
    """A numbered allocation release: the whole placement, replacing earlier releases."""

    release: int = Field(ge=1)
    placements: list[Placement]
    unplaced: Count = 0
    changelog: str = ""


CONTRACTS: dict[str, type[BaseModel]] = {
    "exhibits.exhibit.submitted.v1": ExhibitSubmitted,
    "exhibits.exhibit.withdrawn.v1": ExhibitWithdrawn,
    "exhibits.review.submitted.v1": ReviewSubmitted,
    "exhibits.exhibit.accepted.v1": ExhibitAccepted,
    "exhibits.exhibit.rejected.v1": ExhibitRejected,
    "exhibits.exhibit.waitlisted.v1": ExhibitWaitlisted,
    "exhibits.exhibit.confirmed.v1": ExhibitConfirmed,
    "exhibits.booth.assigned.v1": BoothAssigned,
    "exhibits.allocation.released.v1": AllocationReleased,
}
