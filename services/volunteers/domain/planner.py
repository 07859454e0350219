"""The auto-planner: match commissioners' expertise to village and household needs, nearest first, within
each commissioner's available days and daily maximum, until the city's quota is filled."""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from services.volunteers.domain.geo import distance_m

MAX_HOUSEHOLDS = 5
NEAREST = 60  # candidate villages kept per commissioner: the best matches, nearest first


@dataclass(frozen=True)
class Proposal:
    commissioner_id: str
    village_code: str
    visit_date: str
    household_ids: list[str]
    planned_activities: list[str]
    distance_km: float
    matched: int


@dataclass(frozen=True)
class _Pair:
    matched: int
    distance_m: float
    commissioner: dict[str, Any]
    village: dict[str, Any]
    topics: list[str]


def _pairs(
    commissioners: list[dict[str, Any]], villages: list[dict[str, Any]], households: dict[str, list[dict[str, Any]]]
) -> list[_Pair]:
    needs = {
        v["_id"]: set(v.get("needs", [])).union(*(h.get("needs", []) for h in households.get(v["_id"], [])))
        for v in villages
    }
    pairs: list[_Pair] = []
    for c in commissioners:
        skills = set(c.get("expertise", []))
        lat, lon = c.get("base_lat"), c.get("base_lon")
        mine: list[_Pair] = []
        for v in villages:
            topics = skills & needs[v["_id"]]
            if not topics:
                continue
            far = distance_m(lat, lon, v["lat"], v["lon"]) if lat is not None and lon is not None else 0.0
            mine.append(_Pair(len(topics), far, c, v, sorted(topics)))
        mine.sort(key=lambda p: (-p.matched, p.distance_m))
        pairs += mine[:NEAREST]
    pairs.sort(key=lambda p: (-p.matched, p.distance_m, p.commissioner["_id"], p.village["_id"]))
    return pairs


def propose(
    commissioners: list[dict[str, Any]],
    villages: list[dict[str, Any]],
    households: dict[str, list[dict[str, Any]]],
    day_loads: dict[str, int],
    visits_per_village: dict[str, int],
    wanted: int,
) -> list[Proposal]:
    """Up to `wanted` visits, spread over the commissioners (one more each per round), unvisited villages first.

    `day_loads` maps "commissioner:date" to visits already held that day.
    """
    pairs = _pairs(commissioners, villages, households)
    loads: Counter[str] = Counter(day_loads)
    visited: Counter[str] = Counter(visits_per_village)
    per_person: Counter[str] = Counter()
    taken: set[tuple[str, str]] = set()
    chosen: list[Proposal] = []
    rounds = max((len(c.get("available_dates", [])) * c["max_visits_per_day"] for c in commissioners), default=0)
    for cap, fresh_only in ((cap, fresh) for cap in range(1, rounds + 1) for fresh in (True, False)):
        for pair in pairs:
            if len(chosen) >= wanted:
                return chosen
            key = (pair.commissioner["_id"], pair.village["_id"])
            if key in taken or per_person[key[0]] >= cap or (fresh_only and visited[key[1]]):
                continue
            day = _free_day(pair.commissioner, loads)
            if day is None:
                continue
            loads[f"{key[0]}:{day}"] += 1
            visited[key[1]] += 1
            per_person[key[0]] += 1
            taken.add(key)
            chosen.append(_proposal(pair, day, households.get(key[1], [])))
        pairs = [p for p in pairs if (p.commissioner["_id"], p.village["_id"]) not in taken]  # keep passes short
    return chosen


def _free_day(commissioner: dict[str, Any], loads: Counter[str]) -> str | None:
    for day in commissioner.get("available_dates", []):
        if loads[f"{commissioner['_id']}:{day}"] < commissioner["max_visits_per_day"]:
            return str(day)
    return None


def _proposal(pair: _Pair, day: str, households: list[dict[str, Any]]) -> Proposal:
    skills = set(pair.commissioner.get("expertise", []))
    helped = [h["_id"] for h in households if skills & set(h.get("needs", []))][:MAX_HOUSEHOLDS]
    return Proposal(
        commissioner_id=pair.commissioner["_id"],
        village_code=pair.village["_id"],
        visit_date=day,
        household_ids=helped,
        planned_activities=pair.topics,
        distance_km=round(pair.distance_m / 1000, 1),
        matched=pair.matched,
    )
