"""HTTP routes of the reporting service."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from services.reporting import domain
from services.reporting.store import CITY_PROGRESS, COUNTERS
from shared.app import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["reporting"])


class Counters(BaseModel):
    planned: int
    completed: int
    households_reached: int
    consultations: int
    trainees: int
    books: int
    venues_registered: int
    exhibits_submitted: int


class CityProgress(Counters):
    city_code: str
    name: str
    quota: int


class Progress(Counters):
    target: int
    cities: list[CityProgress]


@router.get("/progress", response_model=Progress)
async def progress(rt: RuntimeDep) -> dict[str, Any]:
    """科技特派员走访进度 / Completed visits against the programme target, in total and per city.

    Read from the projection (one small document per city), never from the event log.
    """
    rows = {doc["_id"]: doc async for doc in rt.db[CITY_PROGRESS].find({})}
    cities = [(c.code, c.name, c.visit_quota) for c in rt.programme.cities]
    view = domain.progress_view(rt.programme.targets.commissioner_visits, cities, rows, COUNTERS)
    # exhibits from provincial departments have no city; they still count in the totals
    provincial = rows.get("provincial", {})
    view["exhibits_submitted"] += int(provincial.get("exhibits_submitted", 0))
    return view
