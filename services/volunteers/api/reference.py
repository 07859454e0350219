"""Reference data routes: commissioners, villages, households, and their bulk imports."""

from typing import Annotated, Any

from fastapi import File, Query, UploadFile

from services.volunteers.api.common import PAGE
from services.volunteers.domain.reference import CommissionerRow, HouseholdRow, VillageRow
from services.volunteers.service import reference
from services.volunteers.service.views import check_city, commissioner_view, household_view, not_found, village_view
from services.volunteers.store import COMMISSIONERS, HOUSEHOLDS, VILLAGES
from shared.app import Runtime, RuntimeDep, api_router
from shared.auth import Coordinator, CoordinatorOrCommissioner, Principal
from shared.http import AfterId, decode_cursor, encode_cursor
from shared.problems import Problem

router = api_router(tags=["reference"])
MAX_IMPORT_BYTES = 20_000_000
ImportId = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
DryRun = Annotated[
    bool, Query(description="只校验、不写入：答复与导入相同的错误，或将新增/更新/不变的条数 / validate only")
]


async def _import(
    rt: Runtime, kind: str, file: UploadFile, actor: Principal, import_id: str | None, dry_run: bool
) -> dict[str, Any]:
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise Problem(413, "file_too_large", detail="文件过大 / file too large")
    name = file.filename or kind
    return await reference.import_file(rt, reference.KINDS[kind], name, content, actor, import_id, dry_run)


@router.post("/commissioners/import")
async def import_commissioners(
    rt: RuntimeDep,
    actor: Coordinator,
    file: Annotated[UploadFile, File()],
    import_id: ImportId = None,
    dry_run: DryRun = False,
) -> dict[str, Any]:
    """批量导入科技特派员（CSV/XLSX，整表校验，有错则不导入）/ Import commissioners; any bad row imports nothing."""
    return await _import(rt, "commissioners", file, actor, import_id, dry_run)


@router.post("/villages/import")
async def import_villages(
    rt: RuntimeDep,
    actor: Coordinator,
    file: Annotated[UploadFile, File()],
    import_id: ImportId = None,
    dry_run: DryRun = False,
) -> dict[str, Any]:
    """批量导入村屯 / Import villages (CSV/XLSX); any bad row imports nothing."""
    return await _import(rt, "villages", file, actor, import_id, dry_run)


@router.post("/households/import")
async def import_households(
    rt: RuntimeDep,
    actor: Coordinator,
    file: Annotated[UploadFile, File()],
    import_id: ImportId = None,
    dry_run: DryRun = False,
) -> dict[str, Any]:
    """批量导入贫困户 / Import poor households (CSV/XLSX) of known villages; any bad row imports nothing."""
    return await _import(rt, "households", file, actor, import_id, dry_run)


@router.get("/imports/{import_id}")
async def import_progress(import_id: str, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """导入进度 / Progress of an import (rows processed of total)."""
    return await reference.import_progress(rt, import_id, actor)


@router.put("/commissioners/{commissioner_id}")
async def put_commissioner(
    commissioner_id: str, body: CommissionerRow, rt: RuntimeDep, actor: Coordinator
) -> dict[str, Any]:
    """登记或更新一名科技特派员 / Create or update one commissioner (idempotent)."""
    if body.id != commissioner_id:
        raise Problem(422, "id_mismatch", detail="路径与内容中的编号不一致 / id in path and body differ")
    return commissioner_view(await reference.upsert_one(rt, reference.KINDS["commissioners"], body, actor), actor)


@router.put("/villages/{village_code}")
async def put_village(village_code: str, body: VillageRow, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """登记或更新一个村 / Create or update one village (idempotent)."""
    if body.code != village_code:
        raise Problem(422, "id_mismatch", detail="路径与内容中的编号不一致 / code in path and body differ")
    return village_view(await reference.upsert_one(rt, reference.KINDS["villages"], body, actor))


@router.put("/households/{household_id}")
async def put_household(household_id: str, body: HouseholdRow, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """登记或更新一户 / Create or update one household (idempotent)."""
    if body.id != household_id:
        raise Problem(422, "id_mismatch", detail="路径与内容中的编号不一致 / id in path and body differ")
    return household_view(await reference.upsert_one(rt, reference.KINDS["households"], body, actor))


@router.get("/commissioners/{commissioner_id}")
async def get_commissioner(commissioner_id: str, rt: RuntimeDep, actor: CoordinatorOrCommissioner) -> dict[str, Any]:
    """一名科技特派员（手机号对他人打码）/ One commissioner; the phone is masked except for admin and themself."""
    doc = await rt.db[COMMISSIONERS].find_one({"_id": commissioner_id})
    mine = actor.role == "volunteer" and actor.sub == commissioner_id
    if doc is None or not (mine or (actor.role != "volunteer" and actor.may_act_for_city(doc["city_code"]))):
        raise not_found("commissioner")
    return commissioner_view(doc, actor)


@router.get("/commissioners")
async def list_commissioners(
    rt: RuntimeDep, actor: Coordinator, city_code: Annotated[str, Query(pattern=r"^\d{6}$")], cursor: str | None = None
) -> dict[str, Any]:
    """一市的科技特派员 / The commissioners of a city, paginated."""
    check_city(actor, city_code)
    query: dict[str, Any] = {"city_code": city_code}
    if cursor:
        query["_id"] = {"$gt": decode_cursor(cursor, AfterId).after}
    docs = await rt.db[COMMISSIONERS].find(query, sort=[("_id", 1)], limit=PAGE).to_list()
    nxt = encode_cursor({"after": docs[-1]["_id"]}) if len(docs) == PAGE else None
    return {"items": [commissioner_view(d, actor) for d in docs], "next_cursor": nxt}


@router.get("/villages")
async def list_villages(
    rt: RuntimeDep, actor: Coordinator, city_code: Annotated[str, Query(pattern=r"^\d{6}$")], cursor: str | None = None
) -> dict[str, Any]:
    """一市的村屯 / The villages of a city, paginated."""
    after = decode_cursor(cursor, AfterId).after if cursor else None
    docs = await reference.list_villages(rt, actor, city_code, after, PAGE)
    nxt = encode_cursor({"after": docs[-1]["_id"]}) if len(docs) == PAGE else None
    return {"items": [village_view(d) for d in docs], "next_cursor": nxt}


@router.get("/villages/{village_code}")
async def get_village(village_code: str, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """一个村及其贫困户（户主姓名打码）/ One village with its households (names masked)."""
    doc = await rt.db[VILLAGES].find_one({"_id": village_code})
    if doc is None or not actor.may_act_for_city(doc["city_code"]):
        raise not_found("village")
    households = await rt.db[HOUSEHOLDS].find({"village_code": village_code}, sort=[("_id", 1)]).to_list()
    return {**village_view(doc), "households": [household_view(h) for h in households]}
