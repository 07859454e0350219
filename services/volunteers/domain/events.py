"""The events an assignment's changes publish, each built from the assignment as it stands after the change."""

from datetime import date
from typing import Any

from shared.contracts.volunteers import (
    AssignmentAccepted,
    AssignmentCancelled,
    AssignmentCreated,
    AssignmentDeclined,
    VisitCheckedIn,
    VisitCompleted,
    VisitFlagged,
    VisitMissed,
)


def subject(doc: dict[str, Any]) -> str:
    """What every assignment event is about."""
    return f"assignment/{doc['_id']}"


def _ids(doc: dict[str, Any]) -> dict[str, Any]:
    return {"assignment_id": doc["_id"], "city_code": doc["city_code"]}


def _who(doc: dict[str, Any]) -> dict[str, Any]:
    return {**_ids(doc), "commissioner_id": doc["commissioner_id"]}


def assignment_created(doc: dict[str, Any]) -> AssignmentCreated:
    return AssignmentCreated(
        **_who(doc),
        village_code=doc["village_code"],
        visit_date=date.fromisoformat(doc["visit_date"]),
        household_ids=doc["household_ids"],
        org_id=doc.get("org_id"),
    )


def assignment_accepted(doc: dict[str, Any]) -> AssignmentAccepted:
    return AssignmentAccepted(**_who(doc), accepted_at=doc["accepted_at"])


def assignment_declined(doc: dict[str, Any]) -> AssignmentDeclined:
    return AssignmentDeclined(**_who(doc), reason=doc["decline_reason"], declined_at=doc["declined_at"])


def assignment_cancelled(doc: dict[str, Any]) -> AssignmentCancelled:
    return AssignmentCancelled(**_ids(doc), reason=doc.get("cancel_reason", ""), cancelled_at=doc["updated_at"])


def visit_checked_in(doc: dict[str, Any]) -> VisitCheckedIn:
    first = next(p for p in doc["positions"] if p["kind"] == "check_in")
    return VisitCheckedIn(
        **_who(doc), village_code=doc["village_code"], checked_in_at=first["device_time"], flags=first["flags"]
    )


def visit_missed(doc: dict[str, Any]) -> VisitMissed:
    return VisitMissed(**_ids(doc), visit_date=date.fromisoformat(doc["visit_date"]))


def visit_completed(doc: dict[str, Any]) -> VisitCompleted:
    """The visit's current report (each new report version is announced with its own number)."""
    report = doc["report_history"][doc["report_version"] - 1]
    return VisitCompleted(
        **_who(doc),
        village_code=doc["village_code"],
        visit_date=date.fromisoformat(doc["visit_date"]),
        completed_at=doc["completed_at"],
        households_reached=len(report["households_reached"]),
        consultations=report["consultations"],
        trainees=report["people_trained"],
        books=report["books_handed_out"],
        report_version=doc["report_version"],
        org_id=doc.get("org_id"),
    )


def visit_flagged(doc: dict[str, Any], flag: str, detail: str) -> VisitFlagged:
    return VisitFlagged(**_ids(doc), flag=flag, detail=detail)
