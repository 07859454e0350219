"""Events of the exhibits service."""

from pydantic import BaseModel

from shared.contracts.base import CityCode, Contract


class ExhibitSubmitted(Contract):
    """An exhibitor submitted an exhibit for review."""

    exhibit_id: str
    org_id: str
    city_code: CityCode | None = None
    zone: int
    title: str


CONTRACTS: dict[str, type[BaseModel]] = {
    "exhibits.exhibit.submitted.v1": ExhibitSubmitted,
}
