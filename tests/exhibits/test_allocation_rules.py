"""The allocator's hard constraints and its choice of the highest-scored set (pure domain, no I/O)."""

from collections import Counter
from dataclasses import replace

from services.exhibits.domain.allocation import REASONS, Booth, Candidate, Hall, fits, propose, violations
from services.exhibits.service.hall import build_hall, load_booths
from shared.programme import load_programme
from shared.settings import REPO_ROOT
from tests.exhibits.seed import candidates

CAPACITY = ("booths_taken", "zone_area_full")


def reference_hall(city_cap: int) -> Hall:
    programme = load_programme(REPO_ROOT / "config" / "programme.toml")
    return build_hall(programme, load_booths(REPO_ROOT / "config" / "booths.toml"), city_cap)


def test_seeded_300_keeps_every_hard_constraint_and_explains_the_rest() -> None:
    hall = reference_hall(city_cap=12)
    pool = {c.exhibit_id: c for c in candidates(300)}
    proposal = propose(list(pool.values()), hall)
    placed = proposal.placements

    assert violations(placed, pool, hall) == []
    assert len(placed) > 120 and len(proposal.unplaced) > 100  # more submissions than booths
    assert set(placed) | {u.exhibit_id for u in proposal.unplaced} == set(pool)
    assert len(placed) + len(proposal.unplaced) == len(pool)
    assert all(u.reason in REASONS and u.detail for u in proposal.unplaced)
    for exhibit_id, booth_id in placed.items():
        booth, c = hall.booths[booth_id], pool[exhibit_id]
        assert booth.zone == c.zone and booth.size_m2 >= c.footprint_m2 and booth.power_kw >= c.power_kw
        assert booth.network or not c.network
    used = Counter[int]()
    for booth_id in placed.values():
        used[hall.booths[booth_id].zone] += int(hall.booths[booth_id].size_m2)
    assert all(used[z] <= area for z, area in hall.zone_area_m2.items())
    per_city = Counter(pool[e].city_code for e in placed if pool[e].city_code)
    assert max(per_city.values()) <= 12
    assert Counter(u.reason for u in proposal.unplaced)["city_cap"] > 0  # the cap did bind
    blocks = {(pool[e].industry, hall.booths[b].block) for e, b in placed.items() if pool[e].zone == 3}
    industries = [industry for industry, _ in blocks]
    assert len(industries) == len(set(industries))  # one block per industry
    assert len({block for _, block in blocks}) == len(blocks)  # one industry per block
    assert propose(list(reversed(list(pool.values()))), hall) == proposal  # deterministic


def test_seeded_300_places_the_highest_scored_set_it_can() -> None:
    hall = reference_hall(city_cap=12)
    pool = {c.exhibit_id: c for c in candidates(300)}
    proposal = propose(list(pool.values()), hall)
    placed = proposal.placements
    block_of = {industry: block for industry, block in proposal.blocks.items()}
    for out in proposal.unplaced:
        c = pool[out.exhibit_id]
        rivals = [pool[e] for e in placed if pool[e].zone == c.zone and pool[e].industry == c.industry]
        if out.reason in CAPACITY:
            # No lower-scored exhibit holds a booth this one would have fitted.
            for r in rivals:
                if r.score < c.score:
                    assert not fits(hall.booths[placed[r.exhibit_id]], c), (out, r)
        elif out.reason == "city_cap":
            same_city = [pool[e] for e in placed if pool[e].city_code == c.city_code]
            assert len(same_city) == 12 and all(r.score >= c.score for r in same_city)
        elif out.reason == "no_fitting_booth":
            zone_booths = [b for b in hall.booths.values() if b.zone == c.zone]
            if c.zone == 3:
                zone_booths = [b for b in zone_booths if b.block == block_of[c.industry or ""]]
            assert not any(fits(b, c) for b in zone_booths)


def small_hall(area: float, city_cap: int = 5) -> Hall:
    booths = [
        Booth("1A01", 1, "A", 9, 1, True),
        Booth("1A02", 1, "A", 9, 1, True),
        Booth("1B01", 1, "B", 18, 3, False),
        Booth("1D01", 1, "D", 9, 0, False),
        Booth("3J01", 3, "J", 9, 1, True),
        Booth("3J02", 3, "J", 9, 1, True),
        Booth("3K01", 3, "K", 9, 1, True),
    ]
    return Hall({b.id: b for b in booths}, {1: area, 3: 100}, frozenset({3}), city_cap)


def one(exhibit_id: str, score: float, **changes: object) -> Candidate:
    base = Candidate(exhibit_id, 1, "450100", None, 6, 0, False, score)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_small_instance_area_power_network_and_cap() -> None:
    pool = [
        one("big", 4.9, footprint_m2=16),  # only the 18 m² booth is big enough
        one("needs-net", 4.8, network=True),  # a networked booth, the smallest that fits
        one("needs-3kw", 4.7, power_kw=3),  # the only 3 kW booth went to a higher score
        one("other-city", 3.0, city_code="450200"),
        one("low", 1.0),
    ]
    roomy = propose(pool, small_hall(area=45, city_cap=2))
    assert roomy.placements == {"big": "1B01", "needs-net": "1A01", "other-city": "1D01"}
    reasons = {u.exhibit_id: u.reason for u in roomy.unplaced}
    assert reasons == {"needs-3kw": "booths_taken", "low": "city_cap"}  # 450100 already holds 2 booths

    tight = propose(pool, small_hall(area=36, city_cap=5))
    assert tight.placements == {"big": "1B01", "needs-net": "1A01", "other-city": "1D01"}
    assert {u.exhibit_id: u.reason for u in tight.unplaced}["low"] == "zone_area_full"  # 1A02 left, 36 m² used


def test_industries_are_kept_together_in_their_own_block() -> None:
    pool = [
        one("m1", 5, zone=3, industry="生物医药"),
        one("m2", 4, zone=3, industry="生物医药"),
        one("m3", 3.5, zone=3, industry="生物医药"),
        one("a1", 4.5, zone=3, industry="现代农业", city_code="450300"),
        one("x1", 1, zone=3, industry="新材料", city_code="450300"),
    ]
    proposal = propose(pool, small_hall(area=100))
    assert proposal.blocks == {"生物医药": "J", "现代农业": "K"}
    assert proposal.placements == {"m1": "3J01", "m2": "3J02", "a1": "3K01"}
    reasons = {u.exhibit_id: u.reason for u in proposal.unplaced}
    assert reasons == {"m3": "booths_taken", "x1": "no_block_for_industry"}


def test_violations_name_every_broken_constraint() -> None:
    hall = small_hall(area=20, city_cap=1)
    pool = {
        c.exhibit_id: c
        for c in [
            one("a", 5, footprint_m2=12),
            one("b", 4, power_kw=3),
            one("c", 3),
            one("m", 3, zone=3, industry="生物医药"),
            one("n", 3, zone=3, industry="生物医药", city_code=None),
            one("o", 3, zone=3, industry="新材料", city_code=None),
        ]
    }
    broken = violations({"a": "1A01", "b": "1A02", "c": "1A02", "m": "3J01", "n": "3K01", "o": "3J02"}, pool, hall)
    text = "\n".join(broken)
    assert "a: 展位 1A01" in text  # 12 m² on a 9 m² booth
    assert "b: 展位 1A02" in text  # 3 kW on a 1 kW booth
    assert "booth 1A02 holds 2 exhibits" in text
    assert "zone 1 uses" in text  # 27 m² of a 20 m² budget
    assert "city 450100 has" in text
    assert "industry 生物医药 spread over blocks" in text
    assert "block J mixes" in text
    assert violations({"a": "1B01"}, pool, hall) == []
