"""What a commissioner's phone does to an assignment: accept, decline, check in/out, report, edit the report.

Operations may arrive late, twice or out of order (phones sync when they find signal). The rules merge
them: positions are append-only facts, a report edit names the version it was made against (a stale one
becomes a conflict for the coordinator, an early one waits for its base), nothing moves a visit backwards.
"""

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.volunteers.domain import events
from services.volunteers.domain.geo import distance_m
from shared.rules import RuleViolation

OpType = Literal["accept", "decline", "check_in", "check_out", "report", "edit_report"]
Status = Literal["applied", "unchanged", "deferred", "conflict"]
ShortText = Annotated[str, Field(min_length=1, max_length=64)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Book(_Payload):
    title: str = Field(min_length=1, max_length=200)
    count: int = Field(ge=0, le=100_000)  # phones send a line per title, zero included: such lines are dropped


class VisitReport(_Payload):
    """A visit report; `books_handed_out` is the total, given directly or as the sum of `books`."""

    households_reached: list[ShortText] = Field(default=[], max_length=200)
    consultations: int = Field(ge=0, le=10_000)
    people_trained: int = Field(ge=0, le=10_000)
    training_topics: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=50)
    books: list[Book] = Field(default=[], max_length=100)
    books_handed_out: int | None = Field(default=None, ge=0, le=1_000_000)
    notes: str = Field(default="", max_length=4000)
    photo_ids: list[ShortText] = Field(default=[], max_length=50)

    @model_validator(mode="after")
    def _books_add_up(self) -> "VisitReport":
        listed = sum(b.count for b in self.books)
        if self.books and self.books_handed_out is not None and self.books_handed_out != listed:
            raise ValueError("books_handed_out must equal the sum of books[].count")
        return self

    @property
    def total_books(self) -> int:
        return self.books_handed_out if self.books_handed_out is not None else sum(b.count for b in self.books)

    def stored(self) -> dict[str, Any]:
        kept = [b.model_dump(mode="json") for b in self.books if b.count > 0]
        return {**self.model_dump(mode="json"), "books": kept, "books_handed_out": self.total_books}


class Position(_Payload):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float = Field(ge=0, le=100_000)


class Decline(_Payload):
    reason: str = Field(min_length=1, max_length=500)


class ReportEdit(_Payload):
    base_version: int = Field(ge=1)
    report: VisitReport


PAYLOADS: dict[str, type[BaseModel] | None] = {
    "accept": None,
    "decline": Decline,
    "check_in": Position,
    "check_out": Position,
    "report": VisitReport,
    "edit_report": ReportEdit,
}


@dataclass(frozen=True)
class Operation:
    op_id: str
    type: OpType
    assignment_id: str
    device_time: datetime
    payload: BaseModel | None


@dataclass(frozen=True)
class FieldContext:
    now: datetime
    village_location: tuple[float, float] | None
    geofence_m: float
    max_accuracy_m: float
    late_after: timedelta
    village_households: frozenset[str] = frozenset()  # the village's households: a visit may reach any of them


@dataclass
class Outcome:
    """The result of one operation: the new document (if changed), events to emit and flags to raise."""

    status: Status
    doc: dict[str, Any] | None = None
    events: list[BaseModel] = field(default_factory=list)  # contract objects, in order
    flags: list[tuple[str, str]] = field(default_factory=list)
    late_hours: int | None = None  # how late the operation reached the server, when past the threshold
    code: str = ""
    message: str = ""


def cancelled_violation() -> RuleViolation:
    return RuleViolation("assignment_cancelled", "该走访已取消 / the visit was cancelled")


def apply_operation(assignment: dict[str, Any], op: Operation, ctx: FieldContext) -> Outcome:
    """Merge `op` into `assignment` (never mutated); raises RuleViolation for an operation that cannot apply."""
    doc = copy.deepcopy(assignment)
    outcome = _APPLY[op.type](doc, op, ctx)
    if ctx.now - op.device_time > ctx.late_after and outcome.doc is not None:
        # not a flag per visit: the session raises one per batch (a phone days late sends many at once)
        outcome.late_hours = int((ctx.now - op.device_time).total_seconds() // 3600)
    if outcome.doc is not None:
        outcome.doc["version"] = assignment["version"] + 1
        outcome.doc["updated_at"] = ctx.now
    return outcome


def _accept(doc: dict[str, Any], op: Operation, ctx: FieldContext) -> Outcome:
    if doc["status"] == "cancelled":
        raise cancelled_violation()
    if doc["status"] not in ("planned", "declined"):
        return Outcome("unchanged")
    doc.update(status="accepted", accepted_at=op.device_time, decline_reason=None)
    return Outcome("applied", doc, [events.assignment_accepted(doc)])


def _decline(doc: dict[str, Any], op: Operation, ctx: FieldContext) -> Outcome:
    assert isinstance(op.payload, Decline)
    if doc["status"] == "cancelled":
        raise cancelled_violation()
    if doc["status"] == "declined":
        return Outcome("unchanged")
    if doc["status"] in ("checked_in", "completed"):
        raise RuleViolation("already_started", "已签到或已完成的走访不能拒绝 / the visit has already started")
    doc.update(status="declined", decline_reason=op.payload.reason, declined_at=op.device_time)
    return Outcome("applied", doc, [events.assignment_declined(doc)])


def _position(doc: dict[str, Any], op: Operation, ctx: FieldContext) -> Outcome:
    assert isinstance(op.payload, Position)
    if doc["status"] == "cancelled":
        raise cancelled_violation()
    if doc["status"] == "declined":
        raise RuleViolation("assignment_declined", "已拒绝的走访不能签到 / the visit was declined")
    flags = position_flags(op.payload, ctx)
    doc["positions"].append(
        {"op_id": op.op_id, "kind": op.type, "device_time": op.device_time, **op.payload.model_dump(), "flags": flags}
    )
    announced: list[BaseModel] = []
    if op.type == "check_in" and doc["status"] in ("planned", "accepted", "missed"):
        doc.update(status="checked_in", checked_in_at=op.device_time)
        announced.append(events.visit_checked_in(doc))
    return Outcome("applied", doc, announced, [(f, _flag_detail(f, op.payload, ctx)) for f in flags])


def position_flags(position: Position, ctx: FieldContext) -> list[str]:
    """Accepted but flagged: too far from the village (mountains, bad GPS) or too inaccurate to tell."""
    flags = []
    if ctx.village_location is not None:
        far = distance_m(position.lat, position.lon, *ctx.village_location) > ctx.geofence_m
        if far:
            flags.append("geofence")
    if position.accuracy_m > ctx.max_accuracy_m:
        flags.append("poor_accuracy")
    return flags


def _flag_detail(flag: str, position: Position, ctx: FieldContext) -> str:
    if flag == "geofence" and ctx.village_location is not None:
        metres = int(distance_m(position.lat, position.lon, *ctx.village_location))
        return f"距村 {metres} 米 / {metres} m from the village"
    return f"定位精度 {int(position.accuracy_m)} 米 / GPS accuracy {int(position.accuracy_m)} m"


def _report(doc: dict[str, Any], op: Operation, ctx: FieldContext) -> Outcome:
    assert isinstance(op.payload, VisitReport)
    report = op.payload.stored()
    check_report(doc, op.payload, ctx.village_households)
    if doc["status"] == "completed":
        if report in doc["report_history"]:
            return Outcome("unchanged")
        return _conflict(doc, op, report, "report_after_completion", "该走访已有报告 / the visit already has a report")
    if doc["status"] in ("cancelled", "declined"):
        return _conflict(
            doc, op, report, f"report_on_{doc['status']}", "走访已取消或已拒绝 / visit cancelled or declined"
        )
    doc.update(status="completed", completed_at=op.device_time)
    set_report(doc, report)
    outcome = Outcome("applied", doc, [events.visit_completed(doc)])
    _apply_pending_edits(doc, outcome)
    return outcome


def _edit_report(doc: dict[str, Any], op: Operation, ctx: FieldContext) -> Outcome:
    assert isinstance(op.payload, ReportEdit)
    check_report(doc, op.payload.report, ctx.village_households)
    report, base = op.payload.report.stored(), op.payload.base_version
    if doc["status"] == "cancelled":
        return _conflict(doc, op, report, "edit_on_cancelled", "走访已取消 / the visit was cancelled")
    if doc["status"] != "completed" or base > doc["report_version"]:
        # its base has not arrived yet: apply it when it does
        doc["pending_edits"].append({"op_id": op.op_id, "base_version": base, "report": report})
        return Outcome("deferred", doc, code="waiting_for_base", message="等待所基于的报告版本 / waiting for its base")
    if base < doc["report_version"]:
        return _conflict(doc, op, report, "stale_report_version", f"报告已是第 {doc['report_version']} 版 / stale")
    set_report(doc, report)
    outcome = Outcome("applied", doc, [events.visit_completed(doc)])
    _apply_pending_edits(doc, outcome)
    return outcome


def check_report(doc: dict[str, Any], report: VisitReport, village_households: frozenset[str] = frozenset()) -> None:
    """Households reached are the assigned ones or others of the same village (met on the day)."""
    unknown = set(report.households_reached) - set(doc["household_ids"]) - village_households
    if unknown:
        raise RuleViolation(
            "unknown_household",
            "不是本村的农户 / households not of this village: " + ", ".join(sorted(unknown)),
            "invalid",
        )


def set_report(doc: dict[str, Any], report: dict[str, Any]) -> None:
    doc["report"] = report
    doc["report_version"] += 1
    doc["report_history"].append(report)


def _apply_pending_edits(doc: dict[str, Any], outcome: Outcome) -> None:
    while True:
        ready = next((e for e in doc["pending_edits"] if e["base_version"] == doc["report_version"]), None)
        if ready is None:
            return
        doc["pending_edits"].remove(ready)
        set_report(doc, ready["report"])
        outcome.events.append(events.visit_completed(doc))


def _conflict(doc: dict[str, Any], op: Operation, report: dict[str, Any], code: str, message: str) -> Outcome:
    doc.setdefault("conflicts", []).append({"op_id": op.op_id, "type": op.type, "report": report, "code": code})
    return Outcome("conflict", doc, [], [("conflict", f"{code}: {message}")], code=code, message=message)


_APPLY = {
    "accept": _accept,
    "decline": _decline,
    "check_in": _position,
    "check_out": _position,
    "report": _report,
    "edit_report": _edit_report,
}
