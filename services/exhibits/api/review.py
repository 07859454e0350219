"""Review routes: reviewers' zones, the review queue, scores, decisions."""

from typing import Annotated, Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.exhibits.service import reviews
from shared.app import RuntimeDep, api_router
from shared.auth import Admin, Reviewer, ReviewerOrAdmin
from shared.http import Cursor, Limit, versioned

router = api_router(tags=["review 评审"])
DecisionName = Literal["accepted", "rejected", "waitlisted"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ZonesIn(_Body):
    zones: list[int] = Field(max_length=20)


class ReviewIn(_Body):
    scores: dict[Annotated[str, Field(max_length=40)], int] = Field(max_length=20)
    comment: str = Field("", max_length=4000)


class DecisionIn(_Body):
    decision: DecisionName
    force: bool = False  # decide without any review


class BulkItem(_Body):
    id: str = Field(max_length=64)
    decision: DecisionName


class BulkIn(_Body):
    items: list[BulkItem] = Field(min_length=1, max_length=500)
    force: bool = False


@router.put("/reviewers/{reviewer_id}")
async def assign_reviewer(reviewer_id: str, body: ZonesIn, rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    """指定评审专家负责的展区 / Assign a reviewer to zones."""
    return await reviews.assign_zones(rt, reviewer_id, body.zones, actor)


@router.get("/review-queue")
async def review_queue(rt: RuntimeDep, actor: Reviewer, cursor: Cursor = None, limit: Limit = 50) -> dict[str, Any]:
    """待评审的申报 / Submissions awaiting review in my zones."""
    return await reviews.review_queue(rt, actor, cursor, limit)


@router.post("/submissions/{exhibit_id}/reviews")
async def submit_review(exhibit_id: str, body: ReviewIn, rt: RuntimeDep, actor: Reviewer) -> JSONResponse:
    """提交评分（1–5 分，按权重）/ Score an exhibit on every criterion (1–5)."""
    view = await reviews.submit_review(rt, exhibit_id, dict(body.scores), body.comment, actor)
    return JSONResponse(view, status_code=200)


@router.get("/submissions/{exhibit_id}/reviews")
async def list_reviews(exhibit_id: str, rt: RuntimeDep, actor: ReviewerOrAdmin) -> dict[str, Any]:
    """全部评分与意见（评审专家须先提交自己的评分）/ All reviews (reviewers only after their own)."""
    return await reviews.list_reviews(rt, exhibit_id, actor)


@router.post("/submissions/{exhibit_id}/decision")
async def decide(exhibit_id: str, body: DecisionIn, rt: RuntimeDep, actor: Admin) -> JSONResponse:
    """录用、不录用或候补 / Accept, reject or waitlist."""
    return versioned(await reviews.decide(rt, exhibit_id, body.decision, body.force, actor))


@router.post("/decisions")
async def decide_many(body: BulkIn, rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    """批量决定 / Decide many at once; each item reports its own outcome."""
    return await reviews.decide_many(rt, [(i.id, i.decision) for i in body.items], body.force, actor)
