"""Progress against the programme's targets, read from the counters (never from the event log)."""

from typing import Any

from pydantic import BaseModel

from services.reporting import store
from services.reporting.api.access import Public
from services.reporting.domain.projection import PROVINCE, city_scope
from shared.app import RuntimeDep, api_router

router = api_router(tags=["progress"])


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


def _pick(metrics: dict[str, int]) -> dict[str, int]:
    return {name: metrics.get(name, 0) for name in Counters.model_fields}


@router.get("/progress", response_model=Progress)
async def progress(rt: RuntimeDep, _: Public) -> dict[str, Any]:
    """科技特派员走访进度 / Completed visits against the programme target, in total and per city (public, if the
    deployment publishes its headline numbers; rate limited).

    One small counters document per city and one for the province: constant time in the number of events.
    """
    cities = rt.programme.cities
    rows = await store.counters(rt.db, [PROVINCE, *(city_scope(c.code) for c in cities)])
    quotas = await store.quotas(rt.db)
    per_city = [
        {
            "city_code": c.code,
            "name": c.name,
            "quota": quotas.get(c.code, c.visit_quota),
            **_pick(rows[city_scope(c.code)]),
        }
        for c in cities
    ]
    return {"target": rt.programme.targets.commissioner_visits, **_pick(rows[PROVINCE]), "cities": per_city}
