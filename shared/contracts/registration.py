"""Events of the registration service."""

from pydantic import BaseModel

from shared.contracts.base import CityCode, Contract


class VenueRegistered(Contract):
    """A venue operator registered a venue; it awaits approval."""

    venue_id: str
    city_code: CityCode
    name: str
    org_type: str


CONTRACTS: dict[str, type[BaseModel]] = {
    "registration.venue.registered.v1": VenueRegistered,
}
