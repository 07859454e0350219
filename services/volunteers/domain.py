"""Assignments of commissioners to villages, and the visit report that completes them."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.rules import RuleViolation

OPEN_STATES = ("planned", "accepted", "checked_in")


@dataclass(frozen=True)
class NewAssignment:
    commissioner_id: str
    city_code: str
    village_code: str
    visit_date: date
    household_ids: list[str]
    planned_activities: list[str]


@dataclass(frozen=True)
class VisitReport:
    households_reached: list[str]
    consultations: int
    people_trained: int
    books_handed_out: int
    notes: str


def plan_assignment(cmd: NewAssignment, created_by: str, now: datetime) -> dict[str, Any]:
    """The new assignment document (state `planned`)."""
    if len(set(cmd.household_ids)) != len(cmd.household_ids):
        raise RuleViolation("duplicate_household", "同一户不能重复指派 / a household is listed twice", "invalid")
    return {
        "_id": str(uuid.uuid4()),
        "commissioner_id": cmd.commissioner_id,
        "city_code": cmd.city_code,
        "village_code": cmd.village_code,
        "visit_date": cmd.visit_date.isoformat(),
        "household_ids": cmd.household_ids,
        "planned_activities": cmd.planned_activities,
        "status": "planned",
        "version": 1,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
        "report": None,
    }


def report_fields(report: VisitReport) -> dict[str, Any]:
    return {
        "households_reached": report.households_reached,
        "consultations": report.consultations,
        "people_trained": report.people_trained,
        "books_handed_out": report.books_handed_out,
        "notes": report.notes,
    }


def complete_visit(assignment: dict[str, Any], report: VisitReport, now: datetime) -> dict[str, Any] | None:
    """The changes that complete `assignment` with `report`; None if this exact report already completed it."""
    if assignment["status"] == "completed":
        if assignment["report"] == report_fields(report):
            return None
        raise RuleViolation("already_completed", "该走访已完成，修改报告请使用报告版本 / visit already completed")
    if assignment["status"] not in OPEN_STATES:
        raise RuleViolation("not_open", f"走访状态为 {assignment['status']}，不能提交报告 / visit is not open")
    unknown = set(report.households_reached) - set(assignment["household_ids"])
    if unknown:
        raise RuleViolation(
            "unknown_household",
            "不在本次指派中的农户 / households not in this assignment: " + ", ".join(sorted(unknown)),
            "invalid",
        )
    return {
        "status": "completed",
        "report": report_fields(report),
        "completed_at": now,
        "updated_at": now,
        "version": assignment["version"] + 1,
    }
