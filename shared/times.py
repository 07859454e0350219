"""Dates and times the API accepts: a bounded year range (far from the calendar's ends, where converting between
zones or adding a day overflows), and a zone wherever a moment is meant."""

from datetime import date, datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, AwareDatetime

MIN_YEAR = 1900
MAX_YEAR = 2200
D = TypeVar("D", date, datetime)


def within_years(value: D) -> D:
    """`value` if its year is between MIN_YEAR and MAX_YEAR (a validation error otherwise)."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"年份须在 {MIN_YEAR}–{MAX_YEAR} 之间 / the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(within_years)]
"""A moment: with its zone or offset (a time without one means nothing on a server), in the accepted years."""

Day = Annotated[date, AfterValidator(within_years)]
"""A calendar day in the accepted years."""
