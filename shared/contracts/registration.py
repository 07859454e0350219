"""Events of the registration service."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.base import CityCode, Contract, Count

OrgType = Literal["research_institute", "high_tech_enterprise", "science_base", "science_museum", "university"]
PricePolicy = Literal["free", "half_price"]


class VenueRegistered(Contract):
    """A venue operator registered a venue; it awaits approval."""

    venue_id: str
    city_code: CityCode
    name: str
    org_type: str


class VenueApproved(Contract):
    """A city coordinator (or admin) approved a venue; it may publish open days."""

    venue_id: str
    city_code: CityCode
    org_type: str
    approved_by: str


class VenueRejected(Contract):
    """A city coordinator (or admin) rejected a venue, with a reason."""

    venue_id: str
    city_code: CityCode
    reason: str


class SessionSlot(Contract):
    """One time slot of an open day (capacity 0 for online-only openings)."""

    session_id: str
    starts_at: datetime
    ends_at: datetime
    capacity: Count


class OpenDayPublished(Contract):
    """A venue published an open day with its sessions and price policy."""

    openday_id: str
    venue_id: str
    city_code: CityCode
    org_type: str
    date: date
    price_policy: PricePolicy
    online: bool = False
    sessions: list[SessionSlot] = Field(default_factory=list)


class BookingFacts(Contract):
    """What every booking event says: which party, how many, at which venue on which day."""

    booking_id: str
    venue_id: str
    city_code: CityCode
    date: date
    party_size: int = Field(ge=1)


class BookingConfirmed(BookingFacts):
    """A party holds seats in a session."""

    openday_id: str
    session_id: str
    price_policy: PricePolicy


class BookingCancelled(BookingFacts):
    """A confirmed booking was cancelled (by the booker, the operator, or an offer that expired)."""

    openday_id: str
    session_id: str
    cancelled_by: Literal["booker", "operator", "system"]


class BookingWaitlisted(BookingFacts):
    """A session was full; the party joined its waiting list."""

    session_id: str


class BookingPromoted(BookingWaitlisted):
    """Seats freed up and the first waiting party was offered them, until offer_expires_at."""

    offer_expires_at: datetime


class VisitorCheckedIn(BookingFacts):
    """A booking was checked in at the door (possibly scanned offline and uploaded later)."""

    checked_in_at: datetime
    offline: bool = False


ActivityType = Literal[
    "matchmaking",
    "policy_lecture",
    "poverty_relief",
    "popularisation_contest",
    "science_night",
    "grassroots",
    "open_day",
    "publicity",
]


class ActivityScheduled(Contract):
    """A city registered one of its themed activities."""

    activity_id: str
    city_code: CityCode
    activity_type: ActivityType
    title: str
    date: date
    expected_participants: Count = 0
    org_id: str | None = None  # the organising unit (主办单位), one of the programme's units, if any


class ActivityHeld(Contract):
    """A themed activity took place, with its actual participants."""

    activity_id: str
    city_code: CityCode
    activity_type: ActivityType
    date: date
    participants: Count
    org_id: str | None = None


class ActivityCancelled(Contract):
    """A themed activity was called off."""

    activity_id: str
    city_code: CityCode
    activity_type: ActivityType
    reason: str = ""
    org_id: str | None = None


CONTRACTS: dict[str, type[BaseModel]] = {
    "registration.venue.registered.v1": VenueRegistered,
    "registration.venue.approved.v1": VenueApproved,
    "registration.venue.rejected.v1": VenueRejected,
    "registration.openday.published.v1": OpenDayPublished,
    "registration.booking.confirmed.v1": BookingConfirmed,
    "registration.booking.cancelled.v1": BookingCancelled,
    "registration.booking.waitlisted.v1": BookingWaitlisted,
    "registration.booking.promoted.v1": BookingPromoted,
    "registration.visitor.checked_in.v1": VisitorCheckedIn,
    "registration.activity.scheduled.v1": ActivityScheduled,
    "registration.activity.held.v1": ActivityHeld,
    "registration.activity.cancelled.v1": ActivityCancelled,
}
