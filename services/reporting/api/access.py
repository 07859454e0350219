"""Who may read what: admin everything, a city coordinator their own city (and the province totals), a
supporting unit's liaison their own unit's summary."""

from typing import Annotated

from fastapi import Depends, Path

from services.reporting.service import summaries
from shared.app import Runtime, RuntimeDep
from shared.auth import Principal
from shared.http import PublicRateLimit
from shared.problems import Problem

CityCode = Annotated[str, Path(pattern=r"^\d{6}$")]
# a city's division code or a supporting unit's code (units' codes start with a letter)
AuthorCode = Annotated[str, Path(pattern=r"^(\d{6}|[a-z][a-z0-9_-]{1,63})$")]


async def published(rt: RuntimeDep, _: PublicRateLimit) -> None:
    """Numbers read without a token: rate limited, and 404 unless the deployment publishes them."""
    if not rt.settings.reporting_public_headline:
        raise Problem(404, "not_found", detail="未公开 / not public")


Public = Annotated[None, Depends(published)]


def check_city(principal: Principal, city_code: str, known: set[str]) -> None:
    """404 for a city the caller may not see, as for one that does not exist (no existence oracle)."""
    if city_code not in known or not principal.may_act_for_city(city_code):
        raise Problem(404, "city_not_found", detail="没有该城市 / no such city")


def author_of(rt: Runtime, principal: Principal, code: str) -> summaries.Author:
    """The city or supporting unit whose summary `code` names; 404 for one the caller may not see."""
    if code.isdigit():
        check_city(principal, code, {c.code for c in rt.programme.cities})
        return next(a for a in summaries.cities(rt) if a.code == code)
    unit = next((a for a in summaries.units(rt) if a.code == code), None)
    if unit is None or not principal.may_act_for_unit(code):
        raise Problem(404, "unit_not_found", detail="没有该单位 / no such unit")
    return unit
