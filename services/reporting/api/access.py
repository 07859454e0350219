"""Who may read what: admin everything, a city coordinator their own city (and the province totals)."""

from typing import Annotated

from fastapi import Depends, Path

from shared.auth import Principal, require_roles
from shared.problems import Problem

Reader = Annotated[Principal, Depends(require_roles("admin", "city"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
CityCode = Annotated[str, Path(pattern=r"^\d{6}$")]


def check_city(principal: Principal, city_code: str, known: set[str]) -> None:
    """404 for a city the caller may not see, as for one that does not exist (no existence oracle)."""
    if city_code not in known or not principal.may_act_for_city(city_code):
        raise Problem(404, "city_not_found", detail="没有该城市 / no such city")
