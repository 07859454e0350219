"""What the cloud exhibition's pages show: search matches marked in text, short excerpts, the small hall map."""

from dataclasses import dataclass

from services.exhibits.domain.allocation import Booth

Segment = tuple[str, bool]  # a piece of text and whether it matched the query


def highlight(text: str, terms: list[str]) -> list[Segment]:
    """`text` cut into pieces, the ones matching a query term (bigram, character or word) marked."""
    folded = text.casefold()
    marked = [False] * len(text)
    for term in terms:
        start = folded.find(term)
        while term and start >= 0:
            for i in range(start, start + len(term)):
                marked[i] = True
            start = folded.find(term, start + 1)
    segments: list[Segment] = []
    for char, hit in zip(text, marked, strict=True):
        if segments and segments[-1][1] == hit:
            segments[-1] = (segments[-1][0] + char, hit)
        else:
            segments.append((char, hit))
    return segments


def excerpt(text: str, terms: list[str], width: int = 60) -> str:
    """About `width` characters of `text` around its first match (the start when nothing matches)."""
    folded = text.casefold()
    found = [i for i in (folded.find(t) for t in terms) if i >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    end = start + width
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


@dataclass(frozen=True)
class MapRow:
    """One row of booths drawn as a bar; `mark` is the exhibit's booth position in it (0..1), if it stands here."""

    label: str
    x: float
    y: float
    width: float
    height: float
    mark: float | None


@dataclass(frozen=True)
class MapZone:
    id: int
    name: str
    x: float
    width: float
    rows: list[MapRow]
    here: bool


@dataclass(frozen=True)
class HallMap:
    width: float
    height: float
    zones: list[MapZone]
    booth_id: str | None
    marker: tuple[float, float] | None  # where the booth is drawn


MAP_WIDTH, MAP_HEIGHT, PAD, TOP = 320.0, 150.0, 6.0, 22.0


def hall_map(booths: dict[str, Booth], areas: dict[int, float], names: dict[int, str], booth_id: str | None) -> HallMap:
    """A schematic of the hall: zones side by side (width by area), each booth row a bar, the booth marked."""
    total = sum(areas.values()) or 1.0
    zones: list[MapZone] = []
    marker: tuple[float, float] | None = None
    x = 0.0
    for zone_id in sorted(areas):
        width = MAP_WIDTH * areas[zone_id] / total
        rows = _rows(booths, zone_id)
        step = (MAP_HEIGHT - TOP - PAD) / max(len(rows), 1)
        drawn = []
        for n, (prefix, ids) in enumerate(rows):
            row = MapRow(prefix, x + PAD, TOP + n * step, width - 2 * PAD, step * 0.6, None)
            if booth_id in ids:
                mark = (ids.index(booth_id) + 0.5) / len(ids)
                row = MapRow(row.label, row.x, row.y, row.width, row.height, mark)
                marker = (row.x + row.width * mark, row.y + row.height / 2)
            drawn.append(row)
        here = any(r.mark is not None for r in drawn)
        zones.append(MapZone(zone_id, names.get(zone_id, str(zone_id)), x, width, drawn, here))
        x += width
    return HallMap(MAP_WIDTH, MAP_HEIGHT, zones, booth_id, marker)


def _rows(booths: dict[str, Booth], zone_id: int) -> list[tuple[str, list[str]]]:
    """The zone's booth rows in order: booths "<zone><prefix><nn>" grouped by prefix, numbered order within."""
    rows: dict[str, list[str]] = {}
    for booth in sorted((b for b in booths.values() if b.zone == zone_id), key=lambda b: b.id):
        prefix = booth.id[len(str(zone_id)) : -2]
        rows.setdefault(prefix, []).append(booth.id)
    return sorted(rows.items())
