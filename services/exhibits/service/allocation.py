"""Use cases of allocation: the automatic proposal, hand moves, numbered releases, booth QR codes."""

import io
from dataclasses import asdict
from typing import Any

import segno

from services.exhibits.domain import allocation
from services.exhibits.domain.allocation import Candidate, Hall
from services.exhibits.service.hall import build_hall, load_booths
from services.exhibits.store import ALLOCATION, RELEASES, SUBMISSIONS, WORKING
from shared.auth import Principal
from shared.contracts.exhibits import AllocationReleased, BoothAssigned, Placement
from shared.http import lost_update, require_match
from shared.mongo import Document, Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork


def hall(uow: UnitOfWork) -> Hall:
    return build_hall(uow.programme, load_booths(uow.settings.exhibits_booths_file), uow.settings.exhibits_city_cap)


def candidate(doc: dict[str, Any]) -> Candidate:
    obj = doc["physical_object"]
    return Candidate(
        exhibit_id=doc["_id"],
        zone=doc["zone"],
        city_code=doc.get("city_code"),
        industry=doc.get("industry"),
        footprint_m2=obj["footprint_m2"],
        power_kw=obj["power_kw"],
        network=obj["network"],
        score=doc.get("score") or 0.0,
        org_id=doc.get("org_id"),
    )


async def candidates(uow: UnitOfWork, session: Session | None = None) -> dict[str, Candidate]:
    """Accepted or confirmed exhibits with a physical object, by id."""
    query = {"status": {"$in": ["accepted", "confirmed"]}, "physical_object": {"$ne": None}}
    fields = {"zone": 1, "city_code": 1, "industry": 1, "physical_object": 1, "score": 1, "org_id": 1}
    return {d["_id"]: candidate(d) async for d in uow.db[SUBMISSIONS].find(query, fields, session=session)}


def working_view(doc: dict[str, Any], the_hall: Hall) -> dict[str, Any]:
    placements = [
        {"exhibit_id": e, "booth_id": b, "zone": the_hall.booths[b].zone, "area_m2": the_hall.booths[b].size_m2}
        for e, b in sorted(doc["placements"].items(), key=lambda kv: kv[1])
    ]
    used: dict[int, float] = {}
    for p in placements:
        used[p["zone"]] = used.get(p["zone"], 0.0) + p["area_m2"]
    zones = [{"zone": z, "area_m2": a, "used_m2": used.get(z, 0.0)} for z, a in sorted(the_hall.zone_area_m2.items())]
    return {
        "version": doc["version"],
        "placements": placements,
        "unplaced": doc["unplaced"],
        "blocks": doc["blocks"],
        "zones": zones,
    }


async def propose(uow: UnitOfWork, actor: Principal) -> dict[str, Any]:
    """Replace the working allocation with a fresh automatic proposal."""
    the_hall = hall(uow)

    async def txn(session: Session) -> dict[str, Any]:
        pool = await candidates(uow, session)
        proposal = allocation.propose(list(pool.values()), the_hall)
        current = await uow.db[ALLOCATION].find_one({"_id": WORKING}, session=session)
        doc = {
            "_id": WORKING,
            "version": (current["version"] if current else 0) + 1,
            "placements": proposal.placements,
            "blocks": proposal.blocks,
            "unplaced": [asdict(u) for u in proposal.unplaced],
            "proposed_by": actor.sub,
            "proposed_at": uow.clock.now(),
        }
        await uow.db[ALLOCATION].replace_one({"_id": WORKING}, doc, upsert=True, session=session)
        return working_view(doc, the_hall)

    return await uow.commit(txn)


async def working(uow: UnitOfWork) -> dict[str, Any]:
    doc = await uow.db[ALLOCATION].find_one({"_id": WORKING})
    if doc is None:
        raise RuleViolation("no_proposal", "尚无分配方案，请先生成 / no proposal yet: create one first", "not_found")
    return working_view(doc, hall(uow))


async def booths(uow: UnitOfWork) -> dict[str, Any]:
    """The booth grid with what the working plan puts on each booth, for editing by hand."""
    the_hall = hall(uow)
    doc = await uow.db[ALLOCATION].find_one({"_id": WORKING}, {"placements": 1})
    holder = {b: e for e, b in (doc or {}).get("placements", {}).items()}
    items = [
        {**asdict(b), "exhibit_id": holder.get(b.id)} for b in sorted(the_hall.booths.values(), key=lambda b: b.id)
    ]
    return {"items": items}


async def _working_for_edit(
    uow: UnitOfWork, session: Session, if_match: str | None
) -> tuple[Document, dict[str, Candidate]]:
    """The working allocation an edit is made against (404 without one, 428/412 on If-Match) and the candidates."""
    doc = await uow.db[ALLOCATION].find_one({"_id": WORKING}, session=session)
    if doc is None:
        raise RuleViolation("no_proposal", "尚无分配方案，请先生成 / no proposal yet: create one first", "not_found")
    require_match(if_match, doc["version"])
    return doc, await candidates(uow, session)


async def move(
    uow: UnitOfWork, exhibit_id: str, booth_id: str | None, actor: Principal, if_match: str | None
) -> dict[str, Any]:
    """Move an exhibit to a booth (or off the plan) by hand; refused if the result breaks a hard constraint."""
    the_hall = hall(uow)

    async def txn(session: Session) -> dict[str, Any]:
        doc, pool = await _working_for_edit(uow, session, if_match)
        if exhibit_id not in pool:
            raise RuleViolation("not_allocatable", "展品未录用或无实物 / not an accepted physical exhibit")
        placements = dict(doc["placements"])
        holder = next((e for e, b in placements.items() if b == booth_id and e != exhibit_id), None)
        if holder is not None:
            raise RuleViolation("booth_taken", f"展位 {booth_id} 已有展品 / booth holds {holder}", holder=holder)
        placements.pop(exhibit_id, None)
        if booth_id is not None:
            placements[exhibit_id] = booth_id
        problems = allocation.violations(placements, pool, the_hall)
        if problems:
            raise _conflict(problems)
        unplaced = [u for u in doc["unplaced"] if u["exhibit_id"] != exhibit_id]
        if booth_id is None:
            unplaced.append(
                {
                    "exhibit_id": exhibit_id,
                    "reason": "moved_off",
                    "detail": f"由 {actor.sub} 手工移出 / removed by hand",
                }
            )
        change = {"placements": placements, "unplaced": unplaced, "version": doc["version"] + 1}
        done = await uow.db[ALLOCATION].update_one(
            {"_id": WORKING, "version": doc["version"]}, {"$set": change}, session=session
        )
        if done.modified_count != 1:  # re-proposed or moved since it was read: answer no plan that was not stored
            raise lost_update(if_match)
        return working_view({**doc, **change}, the_hall)

    return await uow.commit(txn)


async def release(uow: UnitOfWork, changelog: str, actor: Principal, if_match: str | None) -> dict[str, Any]:
    """Publish the working allocation as the next numbered release, with booth events for what changed."""
    the_hall = hall(uow)

    async def txn(session: Session) -> dict[str, Any]:
        doc, pool = await _working_for_edit(uow, session, if_match)
        placements = {e: b for e, b in doc["placements"].items() if e in pool}
        dropped = sorted(set(doc["placements"]) - set(placements))
        problems = allocation.violations(placements, pool, the_hall)
        if problems:
            raise _conflict(problems)
        previous = await uow.db[RELEASES].find_one({}, sort=[("_id", -1)], session=session)
        number = (previous["_id"] if previous else 0) + 1
        before: dict[str, str] = previous["placements"] if previous else {}
        log = _changelog(changelog, before, placements, dropped)
        record = {"_id": number, "placements": placements, "unplaced": len(pool) - len(placements), "changelog": log}
        await uow.db[RELEASES].insert_one(
            {**record, "released_by": actor.sub, "released_at": uow.clock.now()}, session=session
        )
        await _release_events(uow, session, record, pool, the_hall, before)
        return {"release": number, "placed": len(placements), "unplaced": record["unplaced"], "changelog": log}

    return await uow.commit(txn)


def _changelog(text: str, before: dict[str, str], after: dict[str, str], dropped: list[str]) -> str:
    added = len(set(after) - set(before))
    removed = len(set(before) - set(after))
    moved = sum(1 for e in set(before) & set(after) if before[e] != after[e])
    summary = f"+{added} −{removed} ↔{moved}"
    if dropped:
        summary += f"; 已撤回或不再录用 / no longer accepted: {', '.join(dropped)}"
    return f"{text.strip()} ({summary})" if text.strip() else summary


async def _release_events(
    uow: UnitOfWork,
    session: Session,
    record: dict[str, Any],
    pool: dict[str, Candidate],
    the_hall: Hall,
    before: dict[str, str],
) -> None:
    number = record["_id"]
    placements = [
        Placement(
            exhibit_id=e,
            booth_id=b,
            zone=pool[e].zone,
            city_code=pool[e].city_code,
            org_id=pool[e].org_id,
            area_m2=the_hall.booths[b].size_m2,
        )
        for e, b in sorted(record["placements"].items())
    ]
    for p in placements:
        if before.get(p.exhibit_id) != p.booth_id:
            assigned = BoothAssigned(**p.model_dump(), release=number)
            await uow.events.emit(session, assigned, subject=f"exhibit/{p.exhibit_id}")
    released = AllocationReleased(
        release=number, placements=placements, unplaced=record["unplaced"], changelog=record["changelog"]
    )
    await uow.events.emit(session, released, subject=f"allocation/{number}")


async def get_release(uow: UnitOfWork, number: int | None) -> dict[str, Any]:
    """A release by number, or the latest."""
    query = {} if number is None else {"_id": number}
    doc = await uow.db[RELEASES].find_one(query, sort=[("_id", -1)])
    if doc is None:
        raise RuleViolation("release_not_found", "没有该版本 / no such release", "not_found")
    placements = [{"exhibit_id": e, "booth_id": b} for e, b in sorted(doc["placements"].items(), key=lambda kv: kv[1])]
    return {
        "release": doc["_id"],
        "placements": placements,
        "unplaced": doc["unplaced"],
        "changelog": doc["changelog"],
        "released_by": doc["released_by"],
        "released_at": doc["released_at"].isoformat(),
    }


async def list_releases(uow: UnitOfWork) -> dict[str, Any]:
    """Every release, newest first, with its changelog and how many it places (not the placements)."""
    docs = await uow.db[RELEASES].find({}, sort=[("_id", -1)], limit=500).to_list()
    items = [
        {
            "release": d["_id"],
            "placed": len(d["placements"]),
            "unplaced": d["unplaced"],
            "changelog": d["changelog"],
            "released_by": d["released_by"],
            "released_at": d["released_at"].isoformat(),
        }
        for d in docs
    ]
    return {"items": items}


async def booth_qr(uow: UnitOfWork, booth_id: str, site: str) -> bytes:
    """A PNG QR code of the booth's public address (`site`/expo/booths/<id>), which opens the page of the exhibit
    standing there in the latest release: printed once, it follows later releases, and a visitor at the booth
    lands on the same page as one browsing from home."""
    latest = await uow.db[RELEASES].find_one({}, sort=[("_id", -1)])
    if booth_id not in set((latest or {}).get("placements", {}).values()):
        raise RuleViolation("booth_empty", "该展位在最新版本中没有展品 / no exhibit on this booth", "not_found")
    out = io.BytesIO()
    segno.make(f"{site}/expo/booths/{booth_id}", error="m").save(out, kind="png", scale=6, border=2)
    return out.getvalue()


def _conflict(problems: list[str]) -> RuleViolation:
    return RuleViolation("allocation_conflict", "方案违反约束 / the plan breaks a constraint", problems=problems)
