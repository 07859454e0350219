"""The cities' activity calendar: coordinators schedule themed activities and record their outcome."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import File, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.registration.service import activities
from shared.app import RuntimeDep, api_router
from shared.auth import Coordinator
from shared.contracts.registration import ActivityType
from shared.http import Cursor, IdempotencyKey, IfMatch, Limit, etag
from shared.media import IMAGES, media_response, store_upload
from shared.times import Day

router = api_router("/activities", tags=["activities"])
PHOTO_MAX_BYTES = 900_000


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city_code: str = Field(pattern=r"^\d{6}$")
    activity_type: ActivityType
    title: str = Field(min_length=1, max_length=200)
    date: Day
    place: str = Field(default="", max_length=300)
    expected_participants: int = Field(default=0, ge=0, le=10_000_000)
    org_id: str | None = Field(default=None, max_length=64, description="主办单位 / organising unit (programme units)")
    start_time: dt.time | None = Field(default=None, description="开始时间（当地）/ local start time; none: all day")
    end_time: dt.time | None = Field(default=None, description="结束时间（当地）/ local end time")
    organiser: str = Field(
        default="", max_length=200, description="主办方（公开日历显示）/ organiser as the public sees it"
    )
    online_url: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^https?://[^\s<>\"]+$",
        description="线上活动链接 / link of an online activity",
    )


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["held", "cancelled"]
    participants: int | None = Field(default=None, ge=0, le=10_000_000)
    reason: str = Field(default="", max_length=500)


class Activity(BaseModel):
    id: str
    city_code: str
    activity_type: str
    title: str
    date: dt.date
    place: str
    expected_participants: int
    org_id: str | None = None
    start_time: str | None = None  # HH:MM, local
    end_time: str | None = None
    organiser: str = ""
    online_url: str | None = None
    status: str
    participants: int | None = None
    reason: str | None = None
    photos: list[str] = []
    version: int


class ActivityPage(BaseModel):
    items: list[Activity]
    next_cursor: str | None


def _with_etag(doc: dict[str, Any], status: int = 200) -> JSONResponse:
    body = Activity.model_validate(activities.activity_view(doc)).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={"ETag": etag(doc["version"])})


@router.post("", status_code=201, response_model=Activity)
async def schedule_activity(
    body: ActivityIn, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """登记本市主题活动 / Schedule one of your city's themed activities."""
    view = await activities.schedule_activity(rt, actor, body.model_dump(), idempotency_key)
    return JSONResponse(view, status_code=201, headers={"ETag": etag(view["version"])})


@router.get("", response_model=ActivityPage)
async def list_activities(
    rt: RuntimeDep,
    actor: Coordinator,
    activity_type: ActivityType | None = None,
    status: Literal["scheduled", "held", "cancelled"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """本市活动列表 / Your city's activities."""
    return await activities.list_activities(
        rt, actor, {"activity_type": activity_type, "status": status}, cursor, limit
    )


@router.get("/{activity_id}", response_model=Activity)
async def get_activity(activity_id: str, rt: RuntimeDep, actor: Coordinator) -> JSONResponse:
    """查看活动（含 ETag）/ One activity of your city."""
    return _with_etag(await activities.get_activity(rt, actor, activity_id))


@router.post("/{activity_id}/outcome", response_model=Activity)
async def record_outcome(
    activity_id: str, body: Outcome, rt: RuntimeDep, actor: Coordinator, if_match: IfMatch = None
) -> JSONResponse:
    """登记活动结果：已举办（参与人数）或已取消（需 If-Match）/ Record held or cancelled, once (If-Match)."""
    return _with_etag(await activities.record_outcome(rt, actor, activity_id, body.model_dump(), if_match))


@router.put("/{activity_id}/photos/{photo_id}", status_code=201)
async def upload_photo(
    activity_id: str, photo_id: str, rt: RuntimeDep, actor: Coordinator, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """上传活动照片（客户端生成编号，可重试）/ Upload a photo under a client-chosen id (retries are safe)."""
    await activities.get_activity(rt, actor, activity_id)
    stored = await store_upload(
        rt.db,
        file,
        file_id=f"{activity_id}:{photo_id}",
        allowed=IMAGES,
        max_bytes=PHOTO_MAX_BYTES,
        metadata={"activity_id": activity_id},
    )
    await activities.add_photo(rt, activity_id, stored["id"])
    return stored


@router.get("/{activity_id}/photos/{photo_id}")
async def get_photo(activity_id: str, photo_id: str, rt: RuntimeDep, actor: Coordinator) -> StreamingResponse:
    """活动照片 / One photo of an activity."""
    await activities.get_activity(rt, actor, activity_id)
    return await media_response(rt.db, f"{activity_id}:{photo_id}")
