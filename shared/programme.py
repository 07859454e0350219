"""The programme's reference data (cities, dates, targets, deadlines, zones), read from one TOML file."""

import tomllib
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class City(_Frozen):
    code: str = Field(pattern=r"^\d{6}$")
    name: str
    name_en: str
    visit_quota: int = Field(ge=0)


class Zone(_Frozen):
    id: int
    name: str
    name_en: str
    area_m2: float = Field(gt=0)


class Exhibition(_Frozen):
    hall: str
    area_m2: float = Field(gt=0)
    start: date
    end: date
    zones: list[Zone]

    @model_validator(mode="after")
    def _zones_fit_the_hall(self) -> "Exhibition":
        if sum(z.area_m2 for z in self.zones) > self.area_m2:
            raise ValueError("exhibition zones together exceed the hall's area_m2")
        return self


class Targets(_Frozen):
    commissioner_visits: int = Field(ge=0)
    policy_lectures_per_city: int = Field(ge=0)


class Deadlines(_Frozen):
    city_summary: date
    provincial_summary: date


class Activity(_Frozen):
    code: str
    name: str


class Programme(_Frozen):
    name: str
    name_en: str
    theme: str
    province_code: str
    start: date
    end: date
    timezone: str
    main_venue: str
    targets: Targets
    deadlines: Deadlines
    exhibition: Exhibition
    activities: list[Activity] = Field(default_factory=list)
    cities: list[City] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "Programme":
        if self.end < self.start:
            raise ValueError("programme end is before its start")
        codes = [c.code for c in self.cities]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate city code")
        if sum(c.visit_quota for c in self.cities) != self.targets.commissioner_visits:
            raise ValueError("cities' visit_quota must add up to targets.commissioner_visits")
        return self

    def city(self, code: str) -> City | None:
        """The city with this division code, or None."""
        return next((c for c in self.cities if c.code == code), None)


def load_programme(path: Path) -> Programme:
    """Read and validate the programme file."""
    with path.open("rb") as f:
        return Programme.model_validate(tomllib.load(f))
