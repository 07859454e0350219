"""The programme's reference data (cities, dates, targets, deadlines, zones), read from one TOML file."""

import tomllib
from datetime import date
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.times import Day


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class City(_Frozen):
    code: str = Field(pattern=r"^\d{6}$")
    name: str
    name_en: str
    visit_quota: int = Field(ge=0)


class Unit(_Frozen):
    """A supporting unit (有关单位: department, university, institute) that sends its own summary.

    `code` is the organisation id its people carry in their tokens (`org`) and exhibits carry as `org_id`.
    """

    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,63}$")
    name: str
    name_en: str


class Zone(_Frozen):
    id: int
    name: str
    name_en: str
    area_m2: float = Field(gt=0)
    # Zones shown by industry (zone 3, "三百二千") list them; an exhibit there must name one.
    industries: list[str] = Field(default_factory=list)


class Criterion(_Frozen):
    """A review criterion as reviewers read it; its weight is SCIWEEK_EXHIBITS_CRITERIA's (settings)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    name: str
    description: str = ""


class Exhibition(_Frozen):
    hall: str
    area_m2: float = Field(gt=0)
    start: date
    end: date
    zones: list[Zone]
    # Submissions (create, edit, submit) close at this instant; None keeps them open.
    submission_deadline: AwareDatetime | None = None
    criteria: list[Criterion] = Field(default_factory=list)  # names and descriptions of the review criteria

    @model_validator(mode="after")
    def _zones_fit_the_hall(self) -> "Exhibition":
        if sum(z.area_m2 for z in self.zones) > self.area_m2:
            raise ValueError("exhibition zones together exceed the hall's area_m2")
        return self


class TargetSpec(_Frozen):
    """A further target: a counter (see services/reporting/labels.py) in a scope, by a due date."""

    id: str = Field(pattern=r"^[a-z0-9_:.-]{1,64}$")
    metric: str
    scope: str = "province"  # "province", "city:<code>", "zone:<id>", "day:<date>", "unit:<code>"
    value: float = Field(gt=0)
    due: Day
    start: Day | None = None  # the linear schedule runs from here (default: the programme's start)
    schedule: list[tuple[Day, float]] = Field(default_factory=list)  # (date, share of value) points instead


class Targets(_Frozen):
    commissioner_visits: int = Field(ge=0)
    policy_lectures_per_city: int = Field(ge=0)
    extra: list[TargetSpec] = Field(default_factory=list)


class Deadlines(_Frozen):
    city_summary: date
    provincial_summary: date
    unit_summary: date | None = None  # supporting units' summaries (default: the city_summary day)
    lock_after_days: int = Field(7, ge=0)  # summaries lock this many days after their due day
    reminder_days: list[int] = Field(default_factory=lambda: [3, 1])


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
    units: list[Unit] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "Programme":
        if self.end < self.start:
            raise ValueError("programme end is before its start")
        codes = [c.code for c in self.cities]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate city code")
        units = [u.code for u in self.units]
        if len(set(units)) != len(units) or "province" in units:
            raise ValueError("duplicate (or reserved) unit code")
        if sum(c.visit_quota for c in self.cities) != self.targets.commissioner_visits:
            raise ValueError("cities' visit_quota must add up to targets.commissioner_visits")
        return self

    def city(self, code: str) -> City | None:
        """The city with this division code, or None."""
        return next((c for c in self.cities if c.code == code), None)

    def unit(self, code: str) -> Unit | None:
        """The supporting unit with this code, or None."""
        return next((u for u in self.units if u.code == code), None)


def load_programme(path: Path) -> Programme:
    """Read and validate the programme file."""
    with path.open("rb") as f:
        return Programme.model_validate(tomllib.load(f))
