"""Commissioners, villages and poor households: the rows an import accepts, and how they are shown."""

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared.times import Day

TAG_SEPARATORS = (";", "；", "、", "|", ",", "，")


def split_tags(value: Any) -> Any:
    """A cell like "种植;养殖" (or 、，| separated) as a list; lists pass through."""
    if not isinstance(value, str):
        return value
    for sep in TAG_SEPARATORS[1:]:
        value = value.replace(sep, TAG_SEPARATORS[0])
    return [t.strip() for t in value.split(TAG_SEPARATORS[0]) if t.strip()]


Tags = Annotated[list[Annotated[str, Field(min_length=1, max_length=32)]], BeforeValidator(split_tags)]
Dates = Annotated[list[Day], BeforeValidator(split_tags)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
CityCode = Annotated[str, Field(pattern=r"^\d{6}$")]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CommissionerRow(_Row):
    """One commissioner (科技特派员) as imported or upserted."""

    id: Code
    name: str = Field(min_length=1, max_length=64)
    phone: str = Field(pattern=r"^\+?[0-9-]{5,20}$")
    city_code: CityCode
    county: str = Field(default="", max_length=64)
    expertise: Tags = Field(default_factory=list, max_length=20)
    available_dates: Dates = Field(default_factory=list, max_length=366)
    max_visits_per_day: int = Field(default=2, ge=1, le=1000)
    base_lat: float | None = Field(default=None, ge=-90, le=90)
    base_lon: float | None = Field(default=None, ge=-180, le=180)
    org_id: Code | None = None  # dispatching unit (派出单位): its code in the programme's [[units]]


class VillageRow(_Row):
    """One village (行政村/自然屯) as imported or upserted."""

    code: Code
    name: str = Field(min_length=1, max_length=64)
    county: str = Field(default="", max_length=64)
    city_code: CityCode
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    needs: Tags = Field(default_factory=list, max_length=20)


class HouseholdRow(_Row):
    """One poor household (贫困户) of a village."""

    id: Code
    village_code: Code
    head_name: str = Field(min_length=1, max_length=64)
    needs: Tags = Field(default_factory=list, max_length=20)


def commissioner_doc(row: CommissionerRow) -> dict[str, Any]:
    doc = row.model_dump(exclude={"id", "available_dates"})
    doc["_id"] = row.id
    doc["available_dates"] = sorted({d.isoformat() for d in row.available_dates})
    return doc


def village_doc(row: VillageRow) -> dict[str, Any]:
    return {**row.model_dump(exclude={"code"}), "_id": row.code}


def household_doc(row: HouseholdRow) -> dict[str, Any]:
    return {**row.model_dump(exclude={"id"}), "_id": row.id}


def mask_name(name: str) -> str:
    """张** : the family name only."""
    return name[:1] + "*" * max(1, len(name) - 1)
