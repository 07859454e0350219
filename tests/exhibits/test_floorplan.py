"""The booth map's layout: every booth of the grid has a place inside its zone, and no two overlap."""

from itertools import combinations

from services.exhibits.domain.floorplan import booth_shape, lay_out
from services.exhibits.service.hall import load_booths
from shared.settings import REPO_ROOT

AREAS = {1: 1000.0, 2: 800.0, 3: 1400.0}


def test_the_reference_grid_fits_the_hall_without_overlaps() -> None:
    booths = load_booths(REPO_ROOT / "config" / "booths.toml")
    plan = lay_out(booths, AREAS)
    assert set(plan.spots) == set(booths)
    bands = {b.zone: b for b in plan.zones}
    assert [round(b.width / plan.width, 4) for b in plan.zones] == [0.3125, 0.25, 0.4375]  # by area budget
    for booth_id, spot in plan.spots.items():
        band = bands[booths[booth_id].zone]
        assert band.x <= spot.x and spot.x + spot.width <= band.x + band.width + 1e-6, booth_id
        assert 0 < spot.y and spot.y + spot.depth <= plan.depth
        assert spot.width * spot.depth == booths[booth_id].size_m2
    for a, b in combinations(plan.spots.values(), 2):
        apart = a.x + a.width <= b.x or b.x + b.width <= a.x or a.y + a.depth <= b.y or b.y + b.depth <= a.y
        assert apart, (a, b)
    assert plan.depth < plan.width  # a hall, not a corridor
    assert lay_out(booths, AREAS) == plan  # the same map every time


def test_booth_shapes() -> None:
    assert booth_shape(9) == (3.0, 3.0)
    assert booth_shape(18) == (6.0, 3.0)
    assert booth_shape(36) == (6.0, 6.0)
