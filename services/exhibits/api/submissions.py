"""Exhibitors' routes: drafts, edits, submit, confirm, withdraw, media."""

from typing import Annotated, Any

from fastapi import File, Form, Path, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.exhibits.api.access import Exhibitor, ExhibitorOrAdmin, ExhibitorReviewerOrAdmin
from services.exhibits.domain.lifecycle import Contact, Content, PhysicalObject, Status
from services.exhibits.service import submissions
from shared.app import RuntimeDep, api_router
from shared.http import Cursor, IdempotencyKey, IfMatch, Limit, versioned

router = api_router(tags=["submissions 展品申报"])
FileId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhysicalObjectIn(_Body):
    footprint_m2: float = Field(gt=0, le=500)
    weight_kg: float = Field(0, ge=0, le=100_000)
    power_kw: float = Field(0, ge=0, le=100)
    network: bool = False


class ContactIn(_Body):
    name: str = Field("", max_length=50)
    phone: str = Field("", max_length=30)
    email: str = Field("", max_length=100)


class ContentIn(_Body):
    title: str = Field(min_length=1, max_length=200)
    zone: int = Field(ge=1)
    industry: str | None = Field(None, max_length=50)
    summary: str = Field("", max_length=5000)
    highlights: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=10)
    physical_object: PhysicalObjectIn | None = None
    contact: ContactIn = ContactIn()
    video_url: str | None = Field(None, max_length=500, pattern=r"^https?://[^\s<>\"]+$")

    def content(self) -> Content:
        obj = self.physical_object
        return Content(
            title=self.title,
            zone=self.zone,
            industry=self.industry,
            summary=self.summary,
            highlights=list(self.highlights),
            physical_object=PhysicalObject(**obj.model_dump()) if obj else None,
            contact=Contact(**self.contact.model_dump()),
            video_url=self.video_url,
        )


class SubmissionIn(ContentIn):
    city_code: str | None = Field(None, pattern=r"^\d{6}$")
    submit: bool = False  # false keeps an editable draft; true submits it at once


class Step(BaseModel):
    status: str
    at: str
    by: str


class Submission(BaseModel):
    id: str
    org_id: str
    city_code: str | None
    status: Status
    version: int
    title: str
    zone: int
    industry: str | None
    summary: str
    highlights: list[str]
    physical_object: PhysicalObjectIn | None
    contact: ContactIn
    video_url: str | None = None
    media: list[dict[str, Any]]
    history: list[Step]
    score: float | None = None  # the office only
    review_count: int | None = None  # the office only
    booth_id: str | None = None  # in the latest release (reads only)
    release: int | None = None  # the latest release's number (reads only)


class Page(BaseModel):
    items: list[Submission]
    next_cursor: str | None


@router.post("/submissions", status_code=201, response_model=Submission)
async def create_submission(
    body: SubmissionIn, rt: RuntimeDep, actor: Exhibitor, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """新建展品申报（草稿或直接提交）/ Create a submission, as a draft or submitted at once."""
    reply = await submissions.create(rt, body.content(), body.city_code, body.submit, actor, idempotency_key)
    return versioned(reply, 201)


@router.get("/submissions", response_model=Page)
async def list_submissions(
    rt: RuntimeDep, actor: ExhibitorOrAdmin, status: Status | None = None, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """本单位的申报 / The caller's organisation's submissions."""
    return await submissions.list_submissions(rt, actor, status, cursor, limit)


@router.get("/submissions/{exhibit_id}", response_model=Submission)
async def get_submission(exhibit_id: str, rt: RuntimeDep, actor: ExhibitorReviewerOrAdmin) -> JSONResponse:
    """查看申报 / One submission: its organisation, reviewers of its zone, admin."""
    return versioned(await submissions.get(rt, exhibit_id, actor))


@router.put("/submissions/{exhibit_id}", response_model=Submission)
async def edit_submission(
    exhibit_id: str, body: ContentIn, rt: RuntimeDep, actor: Exhibitor, if_match: IfMatch = None
) -> JSONResponse:
    """修改申报（评审开始前，需 If-Match）/ Edit before review starts (If-Match)."""
    return versioned(await submissions.update(rt, exhibit_id, body.content(), actor, if_match))


@router.post("/submissions/{exhibit_id}/submit", response_model=Submission)
async def submit_submission(exhibit_id: str, rt: RuntimeDep, actor: Exhibitor) -> JSONResponse:
    """提交草稿 / Submit a draft for review."""
    return versioned(await submissions.submit(rt, exhibit_id, actor))


@router.post("/submissions/{exhibit_id}/confirm", response_model=Submission)
async def confirm_submission(exhibit_id: str, rt: RuntimeDep, actor: Exhibitor) -> JSONResponse:
    """确认参展 / Confirm an accepted exhibit will be shown."""
    return versioned(await submissions.confirm(rt, exhibit_id, actor))


@router.post("/submissions/{exhibit_id}/withdraw", response_model=Submission)
async def withdraw_submission(exhibit_id: str, rt: RuntimeDep, actor: Exhibitor) -> JSONResponse:
    """撤回申报 / Withdraw the exhibit."""
    return versioned(await submissions.withdraw(rt, exhibit_id, actor))


@router.put("/submissions/{exhibit_id}/media/{file_id}", response_model=Submission)
async def upload_media(
    exhibit_id: str,
    file_id: FileId,
    rt: RuntimeDep,
    actor: Exhibitor,
    file: Annotated[UploadFile, File()],
    caption: Annotated[str, Form(max_length=200)] = "",
) -> JSONResponse:
    """上传图片或视频（客户端生成编号，可重试；图片说明用作网页替代文字）/ Upload an image or video under a
    client-chosen id; the caption is the picture's alt text on the exhibit's page."""
    view, attached = await submissions.add_media(rt, exhibit_id, file_id, file, caption, actor)
    return versioned(view, 201 if attached else 200)
