"""The hall drawn from the booth grid: where each booth stands, in metres, for the office's booth map.

The grid file says which booths exist (zone, row prefix, block, size), not where; this lays them out the same
way every time: zones side by side from left to right, each as wide as its share of the zones' area budgets;
in a zone, each row of booths (one prefix) starts a new line and wraps at the zone's width, blocks of an
industry zone one under the other with a gap. A booth is 3 m deep up to 18 m², 6 m beyond, as wide as its
area needs. A row's lines stand back to back in pairs; aisles (2 m) run between pairs and rows.
"""

from dataclasses import dataclass

from services.exhibits.domain.allocation import Booth

HALL_WIDTH_M = 120.0
AISLE_M = 2.0
BLOCK_GAP_M = 3.0
MARGIN_M = 2.0


@dataclass(frozen=True)
class Spot:
    booth_id: str
    row: str
    x: float
    y: float
    width: float
    depth: float


@dataclass(frozen=True)
class ZoneBand:
    zone: int
    x: float
    width: float


@dataclass(frozen=True)
class FloorPlan:
    width: float
    depth: float
    zones: list[ZoneBand]
    spots: dict[str, Spot]


def booth_shape(size_m2: float) -> tuple[float, float]:
    """(width, depth) of a booth of `size_m2`."""
    depth = 3.0 if size_m2 <= 18 else 6.0
    return round(size_m2 / depth, 2), depth


def row_of(booth: Booth) -> str:
    """The booth's row prefix: the id is <zone><prefix><nn>."""
    return booth.id[len(str(booth.zone)) : -2]


def lay_out(booths: dict[str, Booth], zone_areas: dict[int, float]) -> FloorPlan:
    """Every booth's place, deterministic for a given grid and zone budgets."""
    total = sum(zone_areas.values()) or 1.0
    bands: list[ZoneBand] = []
    spots: dict[str, Spot] = {}
    x, deepest = 0.0, 0.0
    for zone in sorted(zone_areas):
        width = HALL_WIDTH_M * zone_areas[zone] / total
        bands.append(ZoneBand(zone, round(x, 2), round(width, 2)))
        placed, bottom = _zone_spots([b for b in booths.values() if b.zone == zone], x + MARGIN_M, width - 2 * MARGIN_M)
        spots.update(placed)
        deepest = max(deepest, bottom)
        x += width
    return FloorPlan(HALL_WIDTH_M, round(deepest + MARGIN_M, 2), bands, spots)


def _zone_spots(booths: list[Booth], left: float, width: float) -> tuple[dict[str, Spot], float]:
    """A zone's booths: its blocks side by side in the number of columns that makes the zone shallowest."""
    blocks: dict[str, list[Booth]] = {}
    for b in sorted(booths, key=lambda b: (b.block, row_of(b), b.id)):
        blocks.setdefault(b.block, []).append(b)
    widest = max((booth_shape(b.size_m2)[0] for b in booths), default=3.0)
    layouts = [
        _in_columns(list(blocks.values()), left, width, columns)
        for columns in range(1, len(blocks) + 1)
        if (width - BLOCK_GAP_M * (columns - 1)) / columns >= widest
    ]
    return min(layouts, key=lambda spots_bottom: spots_bottom[1], default=({}, MARGIN_M))


def _in_columns(blocks: list[list[Booth]], left: float, width: float, columns: int) -> tuple[dict[str, Spot], float]:
    column_width = (width - BLOCK_GAP_M * (columns - 1)) / columns
    spots: dict[str, Spot] = {}
    top = MARGIN_M + 4.0  # room for the zone's name
    bottom = top
    for n, members in enumerate(blocks):
        if n and n % columns == 0:
            top = bottom + BLOCK_GAP_M
        column_left = left + (n % columns) * (column_width + BLOCK_GAP_M)
        bottom = max(bottom, _block_spots(members, column_left, column_width, top, spots))
    return spots, bottom


def _block_spots(members: list[Booth], left: float, width: float, y: float, spots: dict[str, Spot]) -> float:
    """Lay out one block's rows from `y` down into `spots`; where the block ends."""
    rows: dict[str, list[Booth]] = {}
    for b in members:
        rows.setdefault(row_of(b), []).append(b)
    for row, booths in rows.items():
        x, line_depth, line = left, 0.0, 0
        for b in booths:
            w, d = booth_shape(b.size_m2)
            if x + w > left + width + 1e-9 and x > left:  # wrap: lines of a row stand back to back in pairs
                line += 1
                x, y = left, y + line_depth + (AISLE_M if line % 2 == 0 else 0.0)
                line_depth = 0.0
            spots[b.id] = Spot(b.id, row, round(x, 2), round(y, 2), w, d)
            x += w
            line_depth = max(line_depth, d)
        y += line_depth + AISLE_M
    return y - AISLE_M
