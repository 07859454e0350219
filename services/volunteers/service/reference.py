"""Reference data: commissioners, villages and households, upserted one by one or imported from a file."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from services.volunteers.domain.reference import (
    CommissionerRow,
    HouseholdRow,
    VillageRow,
    commissioner_doc,
    household_doc,
    village_doc,
)
from services.volunteers.service.views import check_city, not_found
from services.volunteers.store import COMMISSIONERS, HOUSEHOLDS, IMPORTS, VILLAGES
from shared.auth import Principal
from shared.problems import MAX_ERRORS_SHOWN, bounded_errors
from shared.rules import RuleViolation
from shared.tabular import read_rows, validate_rows
from shared.unit_of_work import UnitOfWork

CHUNK = 500
SAMPLE = 10  # rows a dry run shows back, to check the columns were read as meant


@dataclass(frozen=True)
class Kind:
    name: str
    singular: str
    collection: str
    model: type[BaseModel]
    key: str
    to_doc: Callable[[Any], dict[str, Any]]


KINDS = {
    "commissioners": Kind("commissioners", "commissioner", COMMISSIONERS, CommissionerRow, "id", commissioner_doc),
    "villages": Kind("villages", "village", VILLAGES, VillageRow, "code", village_doc),
    "households": Kind("households", "household", HOUSEHOLDS, HouseholdRow, "id", household_doc),
}


async def import_file(
    uow: UnitOfWork,
    kind: Kind,
    filename: str,
    content: bytes,
    actor: Principal,
    import_id: str | None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Validate the whole file (errors per line and field, nothing written), then upsert it in chunks.

    A dry run answers as the import would (the same errors, or what it would insert, update and leave unchanged)
    and writes nothing, not even a progress record.
    """
    rows = read_rows(filename, content)
    models, errors = validate_rows(rows, kind.model)
    if not errors:
        numbered = list(zip([line for line, _ in rows], models, strict=True))
        await check_stored_scope(uow, kind, numbered, actor)
        errors = await _cross_checks(uow, kind, numbered, actor)
    if errors:
        raise RuleViolation(
            "import_invalid",
            f"文件有 {len(errors)} 处错误，未导入任何数据 / {len(errors)} errors, nothing imported",
            "invalid",
            **bounded_errors(errors, "code"),
        )
    docs = [kind.to_doc(m) for m in models]
    if dry_run:
        return await _dry_run(uow, kind, docs)
    return await _upsert(uow, kind, docs, import_id or str(uuid.uuid4()), actor)


async def _dry_run(uow: UnitOfWork, kind: Kind, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """What an upsert of `docs` would do: the same counts as `_upsert` reports, read without writing."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for start in range(0, len(docs), CHUNK):
        chunk = docs[start : start + CHUNK]
        stored = {d["_id"]: d async for d in uow.db[kind.collection].find({"_id": {"$in": [d["_id"] for d in chunk]}})}
        for doc in chunk:
            old = stored.get(doc["_id"])
            if old is None:
                counts["inserted"] += 1
            else:
                counts["unchanged" if all(old.get(k) == v for k, v in doc.items()) else "updated"] += 1
    sample = [{kind.key: d["_id"], **{k: v for k, v in d.items() if k != "_id"}} for d in docs[:SAMPLE]]
    return {"dry_run": True, "kind": kind.name, "total": len(docs), **counts, "sample": sample}


async def upsert_one(uow: UnitOfWork, kind: Kind, row: BaseModel, actor: Principal) -> dict[str, Any]:
    await check_stored_scope(uow, kind, [(1, row)], actor)
    errors = await _cross_checks(uow, kind, [(1, row)], actor)
    if errors:
        code = errors[0]["code"]
        raise RuleViolation(code, errors[0]["reason"], "forbidden" if code == "out_of_scope" else "invalid")
    await _upsert(uow, kind, [kind.to_doc(row)], str(uuid.uuid4()), actor)
    found = await uow.db[kind.collection].find_one({"_id": getattr(row, kind.key)})
    assert found is not None
    return found


async def check_stored_scope(
    uow: UnitOfWork, kind: Kind, rows: Sequence[tuple[int, BaseModel]], actor: Principal
) -> None:
    """404 for rows naming a stored record outside the caller's city: the stored city decides, not the row's.

    Otherwise a coordinator could overwrite another city's record, and move it to theirs, by naming their own city.
    """
    if actor.role == "admin":
        return
    lines = {str(getattr(row, kind.key)): line for line, row in rows}
    stored = (
        await uow.db[kind.collection].find({"_id": {"$in": list(lines)}}, {"city_code": 1, "village_code": 1}).to_list()
    )
    if kind.name == "households":  # a household is in the city of the village it is stored under
        village_of = {d["_id"]: d["village_code"] for d in stored}
        cities = await _cities_of(uow, list(set(village_of.values())))
        city_of = {key: cities.get(code) for key, code in village_of.items()}
    else:
        city_of = {d["_id"]: d.get("city_code") for d in stored}
    foreign = sorted(lines[key] for key, city in city_of.items() if city is None or not actor.may_act_for_city(city))
    if foreign:
        problem = not_found(kind.singular)
        raise RuleViolation(problem.code, problem.message, problem.kind, lines=foreign[:MAX_ERRORS_SHOWN])


async def _cities_of(uow: UnitOfWork, village_codes: list[str]) -> dict[str, str]:
    found = uow.db[VILLAGES].find({"_id": {"$in": village_codes}}, {"city_code": 1})
    return {d["_id"]: d["city_code"] async for d in found}


async def _cross_checks(
    uow: UnitOfWork, kind: Kind, rows: Sequence[tuple[int, BaseModel]], actor: Principal
) -> list[dict[str, Any]]:
    """Duplicates within the file, unknown cities and villages, rows outside the caller's city."""
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    village_cities = await _village_cities(uow, rows) if kind.name == "households" else {}
    for line, row in rows:
        key = getattr(row, kind.key)
        if key in seen:
            errors.append(
                {
                    "line": line,
                    "field": kind.key,
                    "reason": f"与第 {seen[key]} 行重复 / duplicate of line {seen[key]}",
                    "code": "duplicate_row",
                }
            )
        seen.setdefault(key, line)
        city = village_cities.get(row.village_code) if isinstance(row, HouseholdRow) else _city_of(row)
        field = "village_code" if kind.name == "households" else "city_code"
        if city is None or uow.programme.city(city) is None:
            errors.append(
                {
                    "line": line,
                    "field": field,
                    "reason": "未知的村或城市 / unknown village or city",
                    "code": "unknown_reference",
                }
            )
        elif not actor.may_act_for_city(city):
            errors.append(
                {
                    "line": line,
                    "field": field,
                    "reason": "只能导入本市数据 / only your own city",
                    "code": "out_of_scope",
                }
            )
    return errors


def _city_of(row: BaseModel) -> str | None:
    return row.city_code if isinstance(row, CommissionerRow | VillageRow) else None


async def _village_cities(uow: UnitOfWork, rows: Sequence[tuple[int, BaseModel]]) -> dict[str, str]:
    return await _cities_of(uow, list({r.village_code for _, r in rows if isinstance(r, HouseholdRow)}))


async def _upsert(
    uow: UnitOfWork, kind: Kind, docs: list[dict[str, Any]], import_id: str, actor: Principal
) -> dict[str, Any]:
    progress = uow.db[IMPORTS]
    started = {"kind": kind.name, "total": len(docs), "processed": 0, "status": "running", "by": actor.sub}
    try:  # an import id is its first caller's: they may run it again, nobody else may take it over
        await progress.replace_one(
            {"_id": import_id, "by": actor.sub}, {**started, "started_at": uow.clock.now()}, upsert=True
        )
    except DuplicateKeyError:
        raise RuleViolation("import_id_taken", "该导入编号已被他人使用 / import id used by someone else") from None
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for start in range(0, len(docs), CHUNK):
        chunk = docs[start : start + CHUNK]
        ops = [
            UpdateOne({"_id": d["_id"]}, {"$set": {k: v for k, v in d.items() if k != "_id"}}, upsert=True)
            for d in chunk
        ]
        result = await uow.db[kind.collection].bulk_write(ops, ordered=False)
        counts["inserted"] += result.upserted_count
        counts["updated"] += result.modified_count
        counts["unchanged"] += len(chunk) - result.upserted_count - result.modified_count
        await progress.update_one({"_id": import_id}, {"$set": {"processed": start + len(chunk)}})
    await progress.update_one(
        {"_id": import_id}, {"$set": {"status": "done", **counts, "finished_at": uow.clock.now()}}
    )
    return {"import_id": import_id, "kind": kind.name, "total": len(docs), **counts}


async def list_villages(uow: UnitOfWork, actor: Principal, city_code: str, after: str | None, limit: int) -> list[Any]:
    """A page of the city's villages, by code."""
    check_city(actor, city_code)
    query: dict[str, Any] = {"city_code": city_code}
    if after is not None:
        query["_id"] = {"$gt": after}
    return await uow.db[VILLAGES].find(query, sort=[("_id", 1)], limit=limit).to_list()


async def import_progress(uow: UnitOfWork, import_id: str, actor: Principal) -> dict[str, Any]:
    doc = await uow.db[IMPORTS].find_one({"_id": import_id})
    if doc is None or (actor.role != "admin" and doc["by"] != actor.sub):
        raise RuleViolation("import_not_found", "没有该导入 / no such import", "not_found")
    return {"import_id": import_id, **{k: v for k, v in doc.items() if k not in ("_id", "by")}}
