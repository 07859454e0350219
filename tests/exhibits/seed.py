"""Reproducible synthetic exhibits for allocation tests and the benchmark."""

import random
from typing import Any

from services.exhibits.domain.allocation import Candidate

CITIES = [f"45{n:02d}00" for n in range(1, 15)]
INDUSTRIES = ["电子信息", "先进装备制造", "生物医药", "新材料", "现代农业", "节能环保", "大健康"]
FOOTPRINTS = [2, 4, 6, 8, 9, 12, 16, 18, 24, 30, 36, 48]  # 48 m² fits no booth of the reference grid
POWER = [0, 0, 0.5, 1, 1, 2, 3, 5, 8]  # 8 kW exceeds every booth


def candidates(n: int, seed: int = 2020) -> list[Candidate]:
    """`n` accepted physical exhibits spread over the zones, cities and industries."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        zone = rng.choices([1, 2, 3], weights=[3, 2.5, 4.5])[0]
        out.append(
            Candidate(
                exhibit_id=f"e{i:05d}",
                zone=zone,
                city_code=None if rng.random() < 0.1 else rng.choice(CITIES),
                industry=rng.choice(INDUSTRIES) if zone == 3 else None,
                footprint_m2=float(rng.choice(FOOTPRINTS)),
                power_kw=float(rng.choice(POWER)),
                network=rng.random() < 0.4,
                score=round(rng.uniform(1, 5), 3),
            )
        )
    return out


def accepted_doc(c: Candidate) -> dict[str, Any]:
    """A stored accepted submission with the candidate's physical object and review score."""
    obj = {"footprint_m2": c.footprint_m2, "weight_kg": 10.0, "power_kw": c.power_kw, "network": c.network}
    return {
        "_id": c.exhibit_id,
        "title": f"展品{c.exhibit_id}",
        "zone": c.zone,
        "city_code": c.city_code,
        "industry": c.industry,
        "org_id": "seed",
        "status": "accepted",
        "version": 3,
        "physical_object": obj,
        "score": c.score,
        "listed": False,
    }
