"""A submission's life: draft → submitted → in_review → accepted | rejected | waitlisted → confirmed | withdrawn."""

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from shared.rules import RuleViolation

Status = Literal["draft", "submitted", "in_review", "accepted", "rejected", "waitlisted", "confirmed", "withdrawn"]
Decision = Literal["accepted", "rejected", "waitlisted"]

# Who may move a submission from one status to the next (the reviewer's first score moves it to in_review).
TRANSITIONS: dict[str, dict[str, str]] = {
    "draft": {"submitted": "exhibitor"},
    "submitted": {"in_review": "reviewer", "accepted": "admin", "rejected": "admin", "waitlisted": "admin"},
    "in_review": {"accepted": "admin", "rejected": "admin", "waitlisted": "admin"},
    "waitlisted": {"accepted": "admin", "rejected": "admin"},
    "accepted": {"confirmed": "exhibitor"},
    "rejected": {},
    "confirmed": {},
    "withdrawn": {},
}
WITHDRAWABLE = ("submitted", "in_review", "accepted", "waitlisted", "confirmed")
EDITABLE = ("draft", "submitted")
LISTED = ("accepted", "confirmed")  # shown in the cloud exhibition


@dataclass(frozen=True)
class PhysicalObject:
    footprint_m2: float
    weight_kg: float
    power_kw: float
    network: bool


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    email: str


@dataclass(frozen=True)
class Content:
    """What an exhibitor writes about an exhibit (everything it may edit)."""

    title: str
    zone: int
    industry: str | None
    summary: str
    highlights: list[str]
    physical_object: PhysicalObject | None
    contact: Contact
    video_url: str | None = None  # a video of the exhibit on a video site, linked from its page


def content_fields(content: Content) -> dict[str, Any]:
    return asdict(content)


def check_content(content: Content, zone_industries: dict[int, list[str]]) -> None:
    """The zone exists; a zone shown by industry needs one of its industries, other zones none."""
    if content.zone not in zone_industries:
        raise RuleViolation("unknown_zone", f"未知展区 / unknown zone {content.zone}", "invalid")
    industries = zone_industries[content.zone]
    if industries and content.industry not in industries:
        raise RuleViolation(
            "industry_required",
            f"该展区须选择行业 / zone {content.zone} needs an industry: {', '.join(industries)}",
            "invalid",
        )
    if not industries and content.industry is not None:
        raise RuleViolation("industry_not_applicable", "该展区不按行业展示 / this zone has no industries", "invalid")


def check_deadline(deadline: datetime | None, now: datetime) -> None:
    if deadline is not None and now > deadline:
        raise RuleViolation(
            "submission_closed", f"申报已于 {deadline.isoformat()} 截止 / submissions closed at {deadline.isoformat()}"
        )


def new_draft(content: Content, org_id: str, city_code: str | None, actor: str, now: datetime) -> dict[str, Any]:
    """A new submission document in `draft`."""
    return {
        "_id": str(uuid.uuid4()),
        **content_fields(content),
        "org_id": org_id,
        "city_code": city_code,
        "status": "draft",
        "version": 1,
        "media": [],
        "score": None,
        "review_count": 0,
        "views": 0,
        "listed": False,
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
        "history": [{"status": "draft", "by": actor, "at": now}],
    }


def check_edit(doc: dict[str, Any], content: Content) -> None:
    """Drafts are editable; once submitted, only text (the facts events carried stay true); after review, nothing."""
    check_editable(doc)
    if doc["status"] != "draft" and facts({**doc, **content_fields(content)}) != facts(doc):
        raise RuleViolation(
            "facts_locked",
            "提交后不能更改展区、行业或实物信息；请撤回后重新申报 / zone, industry and object are fixed once submitted",
        )


def check_editable(doc: dict[str, Any]) -> None:
    if doc["status"] not in EDITABLE:
        raise RuleViolation(
            "not_editable", f"状态为 {doc['status']} 的申报不能修改 / a {doc['status']} submission is final"
        )


def transition(doc: dict[str, Any], to: str, role: str, actor: str, now: datetime) -> dict[str, Any]:
    """The update that moves `doc` to `to`, recording who and when; RuleViolation if not allowed."""
    current = doc["status"]
    allowed = to == "withdrawn" and current in WITHDRAWABLE and role == "exhibitor"
    allowed = allowed or TRANSITIONS[current].get(to) == role
    if not allowed:
        raise RuleViolation("invalid_transition", f"不能从 {current} 变为 {to} / cannot go from {current} to {to}")
    return {
        "$set": {"status": to, "updated_at": now, "version": doc["version"] + 1},
        "$push": {"history": {"status": to, "from": current, "by": actor, "at": now}},
    }


def check_decision(doc: dict[str, Any], force: bool) -> None:
    """A decision needs at least one review unless the admin forces it."""
    if doc["status"] == "draft":
        raise RuleViolation("not_submitted", "草稿尚未提交 / the submission is still a draft")
    if doc["review_count"] == 0 and not force:
        raise RuleViolation("no_reviews", "尚无评审意见；如需直接决定请使用 force / no reviews yet (use force)")


def facts(doc: dict[str, Any]) -> dict[str, Any]:
    """The ExhibitFacts every exhibit event carries."""
    obj = doc.get("physical_object")
    return {
        "exhibit_id": doc["_id"],
        "org_id": doc["org_id"],
        "city_code": doc.get("city_code"),
        "zone": doc["zone"],
        "industry": doc.get("industry"),
        "physical": obj is not None,
        "footprint_m2": obj["footprint_m2"] if obj else 0.0,
    }
