"""HTTP routes of the exhibits service (skeleton: submitting an exhibit)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.exhibits.store import SUBMISSIONS
from shared.app import RuntimeDep
from shared.auth import Principal, require_roles
from shared.contracts.exhibits import ExhibitSubmitted
from shared.envelope import new_event
from shared.mongo import Session, utcnow
from shared.outbox import add_to_outbox
from shared.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["exhibits"])
Exhibitor = Annotated[Principal, Depends(require_roles("exhibitor"))]
Reader = Annotated[Principal, Depends(require_roles("exhibitor", "admin"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    zone: int = Field(ge=1)
    city_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    summary: str = Field(default="", max_length=5000)


class Submission(SubmissionIn):
    id: str
    org_id: str
    status: str


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: doc[k] for k in ("title", "zone", "city_code", "summary", "org_id", "status")}}


@router.post("/submissions", status_code=201, response_model=Submission)
async def submit_exhibit(
    body: SubmissionIn, rt: RuntimeDep, actor: Exhibitor, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """提交展品 / Submit an exhibit for review."""
    if actor.org is None:
        raise Problem(403, "no_organisation", detail="令牌缺少机构 / the token names no organisation")
    if body.zone not in {z.id for z in rt.programme.exhibition.zones}:
        raise Problem(422, "unknown_zone", detail=f"未知展区 / unknown zone {body.zone}")
    if body.city_code is not None and rt.programme.city(body.city_code) is None:
        raise Problem(422, "unknown_city", detail=f"未知的城市代码 / unknown city code {body.city_code}")
    doc = {
        "_id": str(uuid.uuid4()),
        **body.model_dump(),
        "org_id": actor.org,
        "status": "submitted",
        "submitted_by": actor.sub,
        "submitted_at": utcnow(),
    }
    event = new_event(
        "exhibits.exhibit.submitted.v1",
        ExhibitSubmitted(
            exhibit_id=doc["_id"], org_id=actor.org, city_code=body.city_code, zone=body.zone, title=body.title
        ),
        source=rt.settings.source,
        subject=f"exhibit/{doc['_id']}",
    )

    async def txn(session: Session) -> tuple[int, dict[str, Any]]:
        await rt.db[SUBMISSIONS].insert_one(doc, session=session)
        await add_to_outbox(rt.db, session, event)
        return 201, _view(doc)

    key = f"{actor.sub}:submit_exhibit:{idempotency_key}" if idempotency_key else None
    status, view = await rt.commit_once(key, body.model_dump(), txn)
    return JSONResponse(view, status_code=status)


@router.get("/submissions/{submission_id}", response_model=Submission)
async def get_submission(submission_id: str, rt: RuntimeDep, actor: Reader) -> dict[str, Any]:
    """查看展品申报 / One submission: its own organisation or admin."""
    doc = await rt.db[SUBMISSIONS].find_one({"_id": submission_id})
    if doc is None or (actor.role != "admin" and doc["org_id"] != actor.org):
        raise Problem(404, "submission_not_found", detail="申报不存在 / no such submission")
    return _view(doc)
