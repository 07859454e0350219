"""City and provincial summaries: the pre-filled draft, narrative, pictures, submission, exceptions, deadlines."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field

from services.reporting import summaries
from services.reporting.api.access import Admin, CityCode, Reader, check_city
from services.reporting.clock import NowDep
from services.reporting.domain import deadlines
from services.reporting.domain.projection import PROVINCE, city_scope
from shared.app import RuntimeDep
from shared.auth import Principal
from shared.http import etag
from shared.media import IMAGES, media_response, store_upload

router = APIRouter(prefix="/api/v1", tags=["summaries"])
PictureId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class Narrative(BaseModel):
    narrative: str = Field(max_length=20_000)


class ExceptionGrant(BaseModel):
    until: AwareDatetime


def _scope(rt: RuntimeDep, principal: Principal, city_code: str) -> str:
    check_city(principal, city_code, {c.code for c in rt.programme.cities})
    return city_scope(city_code)


async def _with_etag(rt: RuntimeDep, scope: str, now: datetime, response: Response) -> dict[str, Any]:
    body = await summaries.view(rt, scope, now)
    response.headers["ETag"] = etag(body["version"])
    return body


@router.get("/summaries/province")
async def provincial_summary(rt: RuntimeDep, principal: Admin, now: NowDep, response: Response) -> dict[str, Any]:
    """省级总结：汇总各市总结（缺交的留占位）与全省数字 / The provincial summary compiled from the cities'."""
    body = await _with_etag(rt, PROVINCE, now, response)
    body["cities"] = await compiled_cities(rt, now)
    return body


async def compiled_cities(rt: RuntimeDep, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for city in rt.programme.cities:
        view = await summaries.view(rt, city_scope(city.code), now)
        if view["submitted_at"] is None:
            view["narrative"] = f"（{city.name}市总结未提交 / summary not submitted）"
        rows.append({"city_code": city.code, "name": city.name, **view})
    return rows


@router.put("/summaries/province", status_code=204)
async def edit_provincial(
    rt: RuntimeDep, principal: Admin, now: NowDep, body: Narrative, if_match: Annotated[str | None, Header()] = None
) -> None:
    await summaries.edit(rt, PROVINCE, now, if_match, body.narrative)


@router.post("/summaries/province/submit")
async def submit_provincial(
    rt: RuntimeDep, principal: Admin, now: NowDep, key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
) -> dict[str, Any]:
    _, body = await summaries.submit(rt, PROVINCE, now, principal.sub, _key(principal, PROVINCE, key))
    return body


@router.get("/summaries/{city_code}")
async def city_summary(
    rt: RuntimeDep, principal: Reader, now: NowDep, city_code: CityCode, response: Response
) -> dict[str, Any]:
    """市级总结草稿：预填本市数字，附文字与图片 / A city's summary, pre-filled with its numbers."""
    return await _with_etag(rt, _scope(rt, principal, city_code), now, response)


@router.put("/summaries/{city_code}", status_code=204)
async def edit_city_summary(
    rt: RuntimeDep,
    principal: Reader,
    now: NowDep,
    city_code: CityCode,
    body: Narrative,
    if_match: Annotated[str | None, Header()] = None,
) -> None:
    await summaries.edit(rt, _scope(rt, principal, city_code), now, if_match, body.narrative)


@router.put("/summaries/{city_code}/pictures/{picture_id}", status_code=201)
async def add_picture(
    rt: RuntimeDep, principal: Reader, now: NowDep, city_code: CityCode, picture_id: PictureId, file: UploadFile
) -> dict[str, Any]:
    """Upload a picture under a client-chosen id (a retry stores it once)."""
    scope = _scope(rt, principal, city_code)
    deadlines.check_editable(await summaries.load(rt.db, scope), summaries.deadline_for(rt, scope), now)
    stored = await store_upload(
        rt.db,
        file,
        file_id=f"{scope}/{picture_id}",
        allowed=IMAGES,
        max_bytes=rt.settings.reporting_picture_max_bytes,
        metadata={"scope": scope, "by": principal.sub},
    )
    await summaries.add_picture(rt, scope, now, picture_id)
    return {**stored, "id": picture_id}


@router.get("/summaries/{city_code}/pictures/{picture_id}")
async def picture(rt: RuntimeDep, principal: Reader, city_code: CityCode, picture_id: PictureId) -> StreamingResponse:
    return await media_response(rt.db, f"{_scope(rt, principal, city_code)}/{picture_id}")


@router.post("/summaries/{city_code}/submit")
async def submit_city_summary(
    rt: RuntimeDep,
    principal: Reader,
    now: NowDep,
    city_code: CityCode,
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """提交总结（按时/逾期），截止后锁定 / Submit: on time or late; locked after the expiry."""
    scope = _scope(rt, principal, city_code)
    _, body = await summaries.submit(rt, scope, now, principal.sub, _key(principal, scope, key))
    return body


@router.post("/summaries/{city_code}/exception", status_code=204)
async def grant_exception(rt: RuntimeDep, principal: Admin, city_code: CityCode, body: ExceptionGrant) -> None:
    """管理员开例外：锁定后仍可编辑提交至指定时间 / Let a locked summary be edited and submitted until `until`."""
    await summaries.grant_exception(rt, _scope(rt, principal, city_code), body.until, principal.sub)


@router.get("/deadlines")
async def deadline_board(rt: RuntimeDep, principal: Reader, now: NowDep) -> dict[str, Any]:
    """截止看板：各市按时/逾期/缺交，完整率与及时率 / Completeness and timeliness per city."""
    cities = [c for c in rt.programme.cities if principal.may_act_for_city(c.code)]
    rows = await summaries.board(rt, now, [city_scope(c.code) for c in cities])
    for row, city in zip(rows, cities, strict=True):
        row.update(city_code=city.code, name=city.name)
    everyone = await summaries.board(rt, now, [city_scope(c.code) for c in rt.programme.cities])
    province = (await summaries.board(rt, now, [PROVINCE]))[0]
    return {"cities": rows, "province": province, **deadlines.rates([r["status"] for r in everyone])}


def _key(principal: Principal, scope: str, key: str | None) -> str | None:
    return f"{principal.sub}:submit:{scope}:{key}" if key else None
