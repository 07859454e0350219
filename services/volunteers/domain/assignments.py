"""Assignments: the dispatch rules a coordinator's plan must satisfy, and the coordinator's edits."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.rules import RuleViolation

# Statuses that hold a place in the commissioner's day (declined, cancelled and missed do not).
HOLDS_DAY = ("planned", "accepted", "checked_in", "completed")
EDITABLE = ("planned", "accepted", "declined")


@dataclass(frozen=True)
class NewAssignment:
    commissioner_id: str
    city_code: str
    village_code: str
    visit_date: date
    household_ids: list[str]
    planned_activities: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AssignmentEdit:
    """A coordinator's change; None leaves a field as it is."""

    commissioner_id: str | None = None
    visit_date: date | None = None
    household_ids: list[str] | None = None
    planned_activities: list[str] | None = None


def check_dispatch(
    cmd: NewAssignment, commissioner: dict[str, Any] | None, village: dict[str, Any] | None, is_admin: bool
) -> None:
    """Raise unless the commissioner may visit this village on that date (the day's maximum is checked apart)."""
    if commissioner is None:
        raise RuleViolation("unknown_commissioner", f"未登记的科技特派员 / unknown commissioner {cmd.commissioner_id}")
    if village is None:
        raise RuleViolation("unknown_village", f"未登记的村 / unknown village {cmd.village_code}")
    if village["city_code"] != cmd.city_code:
        raise RuleViolation("village_not_in_city", "该村不属于该市 / the village is in another city")
    if commissioner["city_code"] != cmd.city_code and not is_admin:
        raise RuleViolation(
            "commissioner_other_city", "只有自治区管理员可跨市指派 / only admin may dispatch across cities"
        )
    if cmd.visit_date.isoformat() not in commissioner.get("available_dates", []):
        raise RuleViolation(
            "commissioner_unavailable", f"该特派员 {cmd.visit_date} 无空 / commissioner not available that date"
        )
    if len(set(cmd.household_ids)) != len(cmd.household_ids):
        raise RuleViolation("duplicate_household", "同一户不能重复指派 / a household is listed twice", "invalid")


def check_households(household_ids: list[str], known: set[str]) -> None:
    unknown = sorted(set(household_ids) - known)
    if unknown:
        raise RuleViolation(
            "unknown_household", "不属于该村的农户 / households not in this village: " + ", ".join(unknown), "invalid"
        )


def over_daily_max() -> RuleViolation:
    return RuleViolation("daily_max_reached", "该特派员当天走访已满 / the commissioner's day is full")


def plan_assignment(cmd: NewAssignment, created_by: str, now: datetime) -> dict[str, Any]:
    """The new assignment document (state `planned`)."""
    return {
        "_id": str(uuid.uuid4()),
        "commissioner_id": cmd.commissioner_id,
        "previous_commissioner_ids": [],
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
        "report_version": 0,
        "report_history": [],
        "pending_edits": [],
        "positions": [],
    }


def edited(assignment: dict[str, Any], edit: AssignmentEdit, now: datetime) -> dict[str, Any]:
    """The `$set` for a coordinator's edit; a new commissioner or date puts the visit back to `planned`."""
    if assignment["status"] not in EDITABLE:
        raise RuleViolation(
            "not_editable", f"走访状态为 {assignment['status']}，不能修改 / visit can no longer be edited"
        )
    changes: dict[str, Any] = {"updated_at": now, "version": assignment["version"] + 1}
    for name in ("household_ids", "planned_activities"):
        if getattr(edit, name) is not None:
            changes[name] = getattr(edit, name)
    moved = False
    if edit.commissioner_id is not None and edit.commissioner_id != assignment["commissioner_id"]:
        changes["commissioner_id"] = edit.commissioner_id
        changes["previous_commissioner_ids"] = [*assignment["previous_commissioner_ids"], assignment["commissioner_id"]]
        moved = True
    if edit.visit_date is not None and edit.visit_date.isoformat() != assignment["visit_date"]:
        changes["visit_date"] = edit.visit_date.isoformat()
        moved = True
    if moved or assignment["status"] == "declined":
        changes["status"] = "planned"
        changes["decline_reason"] = None
    return changes


def cancelled(assignment: dict[str, Any], reason: str, now: datetime) -> dict[str, Any]:
    """The `$set` that cancels a visit; a completed visit stays completed."""
    if assignment["status"] == "completed":
        raise RuleViolation("visit_completed", "已完成的走访不能取消 / a completed visit cannot be cancelled")
    if assignment["status"] == "cancelled":
        raise RuleViolation("already_cancelled", "该走访已取消 / already cancelled")
    return {"status": "cancelled", "cancel_reason": reason, "updated_at": now, "version": assignment["version"] + 1}


def overdue(assignment: dict[str, Any], today: date, grace_days: int) -> bool:
    """A visit nobody checked in to, `grace_days` after its date."""
    visit_date = date.fromisoformat(assignment["visit_date"])
    return assignment["status"] in ("planned", "accepted") and (today - visit_date).days > grace_days
