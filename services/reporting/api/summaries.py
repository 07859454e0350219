"""Summaries of the cities, the supporting units and the province: the pre-filled draft, narrative, pictures,
submission, exceptions, deadlines. `{code}` is a city's division code or a unit's code."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Path, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services.reporting.api.access import AuthorCode, author_of
from services.reporting.domain import deadlines
from services.reporting.domain.projection import PROVINCE
from services.reporting.service import summaries
from shared.app import NowDep, RuntimeDep, api_router
from shared.auth import Admin, Principal, SummaryAuthor
from shared.http import etag
from shared.media import IMAGES, media_response, store_upload
from shared.times import Instant

router = api_router(tags=["summaries"])
PictureId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class Narrative(BaseModel):
    narrative: str = Field(max_length=20_000)


class ExceptionGrant(BaseModel):
    until: Instant


def _scope(rt: RuntimeDep, principal: Principal, code: str) -> str:
    return author_of(rt, principal, code).scope


async def _with_etag(rt: RuntimeDep, scope: str, now: datetime, response: Response) -> dict[str, Any]:
    body = await summaries.view(rt, scope, now)
    response.headers["ETag"] = etag(body["version"])
    return body


@router.get("/summaries/province")
async def provincial_summary(rt: RuntimeDep, principal: Admin, now: NowDep, response: Response) -> dict[str, Any]:
    """省级总结：汇总各市及有关单位总结（缺交的留占位）与全省数字 / The provincial summary, compiled."""
    body = await _with_etag(rt, PROVINCE, now, response)
    body["cities"] = await summaries.compiled(rt, now, summaries.cities(rt))
    body["units"] = await summaries.compiled(rt, now, summaries.units(rt))
    return body


@router.put("/summaries/province", status_code=204)
async def edit_provincial(
    rt: RuntimeDep,
    principal: Admin,
    now: NowDep,
    body: Narrative,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> None:
    """修改省级总结文字（需 If-Match；答复带新 ETag）/ Edit the provincial narrative (If-Match; the new ETag back)."""
    response.headers["ETag"] = etag(await summaries.edit(rt, PROVINCE, now, if_match, body.narrative, principal.sub))


@router.post("/summaries/province/submit")
async def submit_provincial(
    rt: RuntimeDep, principal: Admin, now: NowDep, key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
) -> dict[str, Any]:
    return await summaries.submit(rt, PROVINCE, now, principal.sub, _key(principal, PROVINCE, key))


@router.get("/summaries/{code}")
async def summary(
    rt: RuntimeDep, principal: SummaryAuthor, now: NowDep, code: AuthorCode, response: Response
) -> dict[str, Any]:
    """市级或单位总结草稿：预填数字，附文字与图片 / A city's or unit's summary, pre-filled with its numbers."""
    return await _with_etag(rt, _scope(rt, principal, code), now, response)


@router.put("/summaries/{code}", status_code=204)
async def edit_summary(
    rt: RuntimeDep,
    principal: SummaryAuthor,
    now: NowDep,
    code: AuthorCode,
    body: Narrative,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> None:
    """修改总结文字（需 If-Match，他人先存则 412；答复带新 ETag）/ Edit the narrative (If-Match; 412 if stale)."""
    scope = _scope(rt, principal, code)
    response.headers["ETag"] = etag(await summaries.edit(rt, scope, now, if_match, body.narrative, principal.sub))


@router.put("/summaries/{code}/pictures/{picture_id}", status_code=201)
async def add_picture(
    rt: RuntimeDep, principal: SummaryAuthor, now: NowDep, code: AuthorCode, picture_id: PictureId, file: UploadFile
) -> dict[str, Any]:
    """Upload a picture under a client-chosen id (a retry stores it once)."""
    scope = _scope(rt, principal, code)
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


@router.get("/summaries/{code}/pictures/{picture_id}")
async def picture(
    rt: RuntimeDep, principal: SummaryAuthor, code: AuthorCode, picture_id: PictureId
) -> StreamingResponse:
    return await media_response(rt.db, f"{_scope(rt, principal, code)}/{picture_id}")


@router.post("/summaries/{code}/submit")
async def submit_summary(
    rt: RuntimeDep,
    principal: SummaryAuthor,
    now: NowDep,
    code: AuthorCode,
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """提交总结（按时/逾期），截止后锁定 / Submit: on time or late; locked after the expiry."""
    scope = _scope(rt, principal, code)
    return await summaries.submit(rt, scope, now, principal.sub, _key(principal, scope, key))


@router.post("/summaries/{code}/exception", status_code=204)
async def grant_exception(rt: RuntimeDep, principal: Admin, code: AuthorCode, body: ExceptionGrant) -> None:
    """管理员开例外：锁定后仍可编辑提交至指定时间 / Let a locked summary be edited and submitted until `until`."""
    await summaries.grant_exception(rt, _scope(rt, principal, code), body.until, principal.sub)


@router.get("/deadlines")
async def deadline_board(rt: RuntimeDep, principal: SummaryAuthor, now: NowDep) -> dict[str, Any]:
    """截止看板：各市、各单位按时/逾期/缺交，完整率与及时率 / Completeness and timeliness per city and unit.

    Rows: the cities and units the caller may see; rates: over all cities (top level) and all units.
    """
    all_cities, all_units = summaries.cities(rt), summaries.units(rt)
    cities = await summaries.board(rt, now, all_cities)
    units = await summaries.board(rt, now, all_units)
    province = (await summaries.board(rt, now, [summaries.PROVINCIAL]))[0]
    return {
        "cities": [r for r in cities if principal.may_act_for_city(r["city_code"])],
        "units": [r for r in units if principal.may_act_for_unit(r["unit_code"])],
        "province": province,
        **deadlines.rates([r["status"] for r in cities]),
        "unit_rates": deadlines.rates([r["status"] for r in units]),
    }


def _key(principal: Principal, scope: str, key: str | None) -> str | None:
    return f"{principal.sub}:submit:{scope}:{key}" if key else None
