"""Booth allocation: a deterministic greedy proposal and the hard constraints every placement must keep.

The heuristic, in two steps:
1. Industry blocks (zones shown by industry): industries in order of their total review score each take
   the free block where their exhibits, fitted best-first by size alone, would carry the most score.
2. One pass over every candidate in descending score (ties by id): give it the smallest free booth of its
   zone (its industry's block in zone 3) that fits its footprint, power and network needs and keeps the
   zone within its area budget, unless its city already holds `city_cap` booths. The reason recorded
   for an unplaced exhibit is the first of: no fitting booth, fitting booths taken, area used up, cap.
Because booths are never freed and the used area only grows, an exhibit left out for capacity could not
have taken any booth a lower-scored exhibit got later: the placed set is the greedy top of the ranking.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

UNCAPPED = "-"  # provincial departments have no city; the city cap does not apply to them


@dataclass(frozen=True)
class Booth:
    id: str
    zone: int
    block: str
    size_m2: float
    power_kw: float
    network: bool


@dataclass(frozen=True)
class Candidate:
    """An accepted physical exhibit waiting for a booth."""

    exhibit_id: str
    zone: int
    city_code: str | None
    industry: str | None
    footprint_m2: float
    power_kw: float
    network: bool
    score: float
    org_id: str | None = None  # the exhibiting organisation (reported with its placement)


@dataclass(frozen=True)
class Hall:
    """The fixed frame: booths, area budget per zone, industry zones, and the per-city cap."""

    booths: dict[str, Booth]
    zone_area_m2: dict[int, float]
    industry_zones: frozenset[int]
    city_cap: int


@dataclass(frozen=True)
class Unplaced:
    exhibit_id: str
    reason: str
    detail: str


@dataclass
class Proposal:
    placements: dict[str, str]  # exhibit id -> booth id
    blocks: dict[str, str]  # industry -> block
    unplaced: list[Unplaced]


REASONS = {
    "unknown_zone": "展区不存在 / the zone is not in the hall",
    "no_fitting_booth": "没有满足面积、电力或网络需求的展位 / no booth of the zone fits its size, power or network",
    "city_cap": "本市展位已达上限 / the city's booth cap is reached",
    "booths_taken": "合适的展位已被更高分展品占用 / fitting booths went to higher-scored exhibits",
    "zone_area_full": "展区面积预算已用完 / the zone's area budget is used up",
    "no_block_for_industry": "没有剩余的行业展块 / no industry block left for its industry",
}


def fits(booth: Booth, c: Candidate) -> bool:
    """The booth is big enough and has the power and network the exhibit needs."""
    return booth.size_m2 >= c.footprint_m2 and booth.power_kw >= c.power_kw and (booth.network or not c.network)


def _ranked(candidates: Iterable[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (-c.score, c.exhibit_id))


def _by_size(booths: Iterable[Booth]) -> list[Booth]:
    return sorted(booths, key=lambda b: (b.size_m2, b.power_kw, b.network, b.id))


def assign_blocks(candidates: list[Candidate], hall: Hall) -> dict[str, str]:
    """Give each industry of an industry zone one block (step 1 of the heuristic)."""
    blocks: dict[str, str] = {}
    for zone in sorted(hall.industry_zones):
        in_zone = [c for c in candidates if c.zone == zone and c.industry]
        totals: dict[str, float] = {}
        for c in in_zone:
            totals[c.industry or ""] = totals.get(c.industry or "", 0.0) + c.score
        free = sorted({b.block for b in hall.booths.values() if b.zone == zone})
        for industry, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
            if not free:
                break
            mine = _ranked(c for c in in_zone if c.industry == industry)
            best = max(free, key=lambda block: (_block_value(mine, zone, block, hall), -free.index(block)))
            blocks[industry] = best
            free.remove(best)
    return blocks


def _block_value(mine: list[Candidate], zone: int, block: str, hall: Hall) -> float:
    free = _by_size(b for b in hall.booths.values() if b.zone == zone and b.block == block)
    value = 0.0
    for c in mine:
        booth = next((b for b in free if fits(b, c)), None)
        if booth is not None:
            free.remove(booth)
            value += c.score
    return value


def propose(candidates: list[Candidate], hall: Hall) -> Proposal:
    """The automatic proposal (step 2 of the heuristic); every candidate is placed or explained."""
    blocks = assign_blocks(candidates, hall)
    proposal = Proposal({}, blocks, [])
    used_area: dict[int, float] = {}
    per_city = Counter[str]()
    taken: set[str] = set()
    for c in _ranked(candidates):
        reason, booth = _choose(c, hall, blocks, taken, used_area, per_city)
        if booth is None:
            proposal.unplaced.append(Unplaced(c.exhibit_id, reason, REASONS[reason]))
            continue
        proposal.placements[c.exhibit_id] = booth.id
        taken.add(booth.id)
        used_area[c.zone] = used_area.get(c.zone, 0.0) + booth.size_m2
        per_city[c.city_code or UNCAPPED] += 1
    return proposal


def _choose(
    c: Candidate, hall: Hall, blocks: dict[str, str], taken: set[str], used: dict[int, float], per_city: Counter[str]
) -> tuple[str, Booth | None]:
    if c.zone not in hall.zone_area_m2:
        return "unknown_zone", None
    pool = [b for b in hall.booths.values() if b.zone == c.zone]
    if c.zone in hall.industry_zones:
        block = blocks.get(c.industry or "")
        if block is None:
            return "no_block_for_industry", None
        pool = [b for b in pool if b.block == block]
    fitting = [b for b in pool if fits(b, c)]
    if not fitting:
        return "no_fitting_booth", None
    free = [b for b in fitting if b.id not in taken]
    if not free:
        return "booths_taken", None
    within = [b for b in free if used.get(c.zone, 0.0) + b.size_m2 <= hall.zone_area_m2[c.zone]]
    if not within:
        return "zone_area_full", None
    if c.city_code is not None and per_city[c.city_code] >= hall.city_cap:
        return "city_cap", None
    return "", _by_size(within)[0]


def violations(placements: dict[str, str], candidates: dict[str, Candidate], hall: Hall) -> list[str]:
    """Every hard constraint `placements` breaks (empty when it is valid); used for hand edits and releases."""
    problems: list[str] = []
    used: dict[int, float] = {}
    per_city = Counter[str]()
    industry_blocks: dict[tuple[int, str], set[str]] = {}
    for exhibit_id, booth_id in sorted(placements.items()):
        booth, c = hall.booths.get(booth_id), candidates.get(exhibit_id)
        if booth is None or c is None:
            problems.append(f"{exhibit_id}: 展位或展品不存在 / unknown booth {booth_id} or exhibit")
            continue
        if booth.zone != c.zone:
            problems.append(f"{exhibit_id}: 展位 {booth_id} 不在展区 {c.zone} / booth is in another zone")
        if not fits(booth, c):
            problems.append(
                f"{exhibit_id}: 展位 {booth_id} 面积、电力或网络不足 / booth too small or lacks power/network"
            )
        used[booth.zone] = used.get(booth.zone, 0.0) + booth.size_m2
        per_city[c.city_code or UNCAPPED] += 1
        if booth.zone in hall.industry_zones:
            industry_blocks.setdefault((booth.zone, c.industry or ""), set()).add(booth.block)
    problems += _shared_limits(placements, used, per_city, industry_blocks, hall)
    return problems


def _shared_limits(
    placements: dict[str, str],
    used: dict[int, float],
    per_city: Counter[str],
    industry_blocks: dict[tuple[int, str], set[str]],
    hall: Hall,
) -> list[str]:
    problems: list[str] = []
    booth_use = Counter(placements.values())
    problems += [f"展位 {b} 被重复分配 / booth {b} holds {n} exhibits" for b, n in sorted(booth_use.items()) if n > 1]
    for zone, area in sorted(used.items()):
        if area > hall.zone_area_m2.get(zone, 0):
            problems.append(f"展区 {zone} 面积超出 / zone {zone} uses {area} m² of {hall.zone_area_m2.get(zone, 0)}")
    for city, n in sorted(per_city.items()):
        if city != UNCAPPED and n > hall.city_cap:
            problems.append(f"城市 {city} 超过上限 / city {city} has {n} booths, cap {hall.city_cap}")
    block_owner: dict[tuple[int, str], str] = {}
    for (zone, industry), blocks in sorted(industry_blocks.items()):
        if len(blocks) > 1:
            problems.append(f"行业 {industry} 被拆分 / industry {industry} spread over blocks {sorted(blocks)}")
        for block in blocks:
            other = block_owner.setdefault((zone, block), industry)
            if other != industry:
                problems.append(f"展块 {block} 混合行业 / block {block} mixes {other} and {industry}")
    return problems
