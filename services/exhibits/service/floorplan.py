"""The office's booth map: every booth of the hall where it stands, the working plan on it, what is left out."""

from typing import Any

from services.exhibits.domain.floorplan import lay_out, row_of
from services.exhibits.service.allocation import candidates, hall
from services.exhibits.store import ALLOCATION, SUBMISSIONS, WORKING
from shared.unit_of_work import UnitOfWork


async def floor_plan(uow: UnitOfWork) -> dict[str, Any]:
    """The map of the hall with the working plan (version 0 before the first proposal): booths with their place
    (metres), size, power, network and exhibit; the allocatable exhibits with their needs and titles; the unplaced
    with the allocator's reasons; each zone's area budget and use."""
    the_hall = hall(uow)
    zones = uow.programme.exhibition.zones
    plan = lay_out(the_hall.booths, {z.id: z.area_m2 for z in zones})
    working = await uow.db[ALLOCATION].find_one({"_id": WORKING}) or {"version": 0, "placements": {}, "unplaced": []}
    pool = await candidates(uow)
    placements = {e: b for e, b in working["placements"].items()}
    holder = {b: e for e, b in placements.items()}
    titles = {
        d["_id"]: d
        async for d in uow.db[SUBMISSIONS].find({"_id": {"$in": [*pool, *placements]}}, {"title": 1, "status": 1})
    }
    used: dict[int, float] = {}
    for booth_id in placements.values():
        booth = the_hall.booths[booth_id]
        used[booth.zone] = used.get(booth.zone, 0.0) + booth.size_m2
    booths = []
    for booth_id, spot in sorted(plan.spots.items()):
        b = the_hall.booths[booth_id]
        booths.append(
            {
                "id": booth_id,
                "zone": b.zone,
                "block": b.block,
                "row": row_of(b),
                "size_m2": b.size_m2,
                "power_kw": b.power_kw,
                "network": b.network,
                "x": spot.x,
                "y": spot.y,
                "width": spot.width,
                "depth": spot.depth,
                "exhibit_id": holder.get(booth_id),
            }
        )
    exhibits = [
        {
            "id": c.exhibit_id,
            "title": titles.get(c.exhibit_id, {}).get("title", c.exhibit_id),
            "zone": c.zone,
            "industry": c.industry,
            "city_code": c.city_code,
            "org_id": c.org_id,
            "footprint_m2": c.footprint_m2,
            "power_kw": c.power_kw,
            "network": c.network,
            "score": c.score,
            "booth_id": placements.get(c.exhibit_id),
        }
        for c in sorted(pool.values(), key=lambda c: (-c.score, c.exhibit_id))
    ]
    bands = {band.zone: band for band in plan.zones}
    return {
        "hall": uow.programme.exhibition.hall,
        "width_m": plan.width,
        "depth_m": plan.depth,
        "version": working["version"],
        "zones": [
            {
                "id": z.id,
                "name": z.name,
                "x": bands[z.id].x,
                "width": bands[z.id].width,
                "area_m2": z.area_m2,
                "used_m2": used.get(z.id, 0.0),
            }
            for z in zones
        ],
        "booths": booths,
        "exhibits": exhibits,
        "unplaced": working["unplaced"],
        "blocks": working.get("blocks", {}),
    }
