"""What every console reads about the exhibition: its zones, dates, deadline, and the review criteria."""

from typing import Any

from services.exhibits.domain.review import criteria_sheet
from shared.unit_of_work import UnitOfWork


def exhibition(uow: UnitOfWork) -> dict[str, Any]:
    """The exhibition as the programme configures it (zones with their industries, dates, the deadline)."""
    e = uow.programme.exhibition
    return {
        "name": uow.programme.name,
        "hall": e.hall,
        "area_m2": e.area_m2,
        "start": e.start.isoformat(),
        "end": e.end.isoformat(),
        "submission_deadline": e.submission_deadline.isoformat() if e.submission_deadline else None,
        "open": e.submission_deadline is None or uow.clock.now() <= e.submission_deadline,
        "zones": [
            {"id": z.id, "name": z.name, "name_en": z.name_en, "area_m2": z.area_m2, "industries": list(z.industries)}
            for z in e.zones
        ],
        "cities": [{"code": c.code, "name": c.name} for c in uow.programme.cities],
        "units": [{"code": u.code, "name": u.name} for u in uow.programme.units],
    }


def review_criteria(uow: UnitOfWork) -> dict[str, Any]:
    """The weighted criteria reviewers score (1–5 each): weights from the settings, words from the programme."""
    described = {c.id: (c.name, c.description) for c in uow.programme.exhibition.criteria}
    return {
        "scale": {"min": 1, "max": 5},
        "aggregate": uow.settings.exhibits_aggregate,
        "items": criteria_sheet(uow.settings.exhibits_criteria, described),
    }
