"""The public cloud exhibition (no account, rate limited)."""

from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import Response

from services.exhibits.service import catalogue
from services.exhibits.service.catalogue import Filters
from shared.app import RuntimeDep, api_router
from shared.http import Cursor, Limit, PublicRateLimit

router = api_router(tags=["cloud exhibition 云展厅"])


@router.get("/catalogue")
async def search_catalogue(
    rt: RuntimeDep,
    _: PublicRateLimit,
    q: Annotated[str, Query(max_length=50)] = "",
    city_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    zone: int | None = None,
    industry: Annotated[str | None, Query(max_length=50)] = None,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> dict[str, Any]:
    """云展厅：按城市、展区、行业、单位筛选，中文全文检索 / Browse and search the exhibits on show."""
    filters = Filters(city_code=city_code, zone=zone, industry=industry, org_id=org_id)
    return await catalogue.search(rt, q, filters, cursor, limit)


@router.get("/catalogue/{exhibit_id}")
async def exhibit_page(exhibit_id: str, rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """展品页面（计入浏览量）/ One exhibit's page (counts a view)."""
    return await catalogue.exhibit_page(rt, exhibit_id)


IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=200)]


@router.get("/catalogue/{exhibit_id}/views")
async def view_count(exhibit_id: str, rt: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
    """展品浏览量（不计入浏览）/ An exhibit's view count, without counting a view."""
    return await catalogue.view_count(rt, exhibit_id)


@router.get("/catalogue/{exhibit_id}/media/{file_id}", response_class=Response)
async def exhibit_media(
    exhibit_id: str, file_id: str, rt: RuntimeDep, _: PublicRateLimit, if_none_match: IfNoneMatch = None
) -> Response:
    """展品图片或视频（ETag，可缓存）/ A photo or video of an exhibit on show (ETag, cacheable)."""
    return await catalogue.exhibit_media(rt, exhibit_id, file_id, if_none_match)


@router.get("/catalogue/{exhibit_id}/media/{file_id}/small", response_class=Response)
async def exhibit_picture_for_phones(
    exhibit_id: str, file_id: str, rt: RuntimeDep, _: PublicRateLimit, if_none_match: IfNoneMatch = None
) -> Response:
    """展品图片的手机版（缩小的 JPEG，只生成一次）/ A picture downscaled for phones (a JPEG made once)."""
    return await catalogue.exhibit_media(rt, exhibit_id, file_id, if_none_match, small=True)
