"""The exhibition's facts and the review criteria, for every console and anyone who asks (rate limited)."""

from typing import Any, Literal

from pydantic import BaseModel

from services.exhibits.service import exhibition
from shared.app import RuntimeDep, api_router
from shared.http import PublicRateLimit

router = api_router(tags=["exhibition 展览"])


class Zone(BaseModel):
    id: int
    name: str
    name_en: str
    area_m2: float
    industries: list[str]


class Named(BaseModel):
    code: str
    name: str


class Exhibition(BaseModel):
    name: str
    hall: str
    area_m2: float
    start: str
    end: str
    submission_deadline: str | None
    open: bool
    zones: list[Zone]
    cities: list[Named]
    units: list[Named]


class Criterion(BaseModel):
    id: str
    name: str
    description: str
    weight: float
    share: float


class Scale(BaseModel):
    min: int
    max: int


class Criteria(BaseModel):
    scale: Scale
    aggregate: Literal["mean", "median"]
    items: list[Criterion]


@router.get("/exhibition", response_model=Exhibition)
async def get_exhibition(rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """展览概况：展区、日期与申报截止时间 / The exhibition: zones, dates and the submission deadline."""
    return exhibition.exhibition(rt)


@router.get("/review-criteria", response_model=Criteria)
async def get_review_criteria(rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """评审标准（名称、说明、权重）/ The review criteria: names, descriptions and weights."""
    return exhibition.review_criteria(rt)
