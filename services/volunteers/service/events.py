"""The events an assignment's changes publish, built from the stored document."""

from datetime import date
from typing import Any

from pydantic import BaseModel

from shared.app import Runtime
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
from shared.envelope import new_event
from shared.mongo import Session
from shared.outbox import add_to_outbox


def _payload(kind: str, doc: dict[str, Any], report_version: int) -> tuple[str, BaseModel]:
    ids = {"assignment_id": doc["_id"], "city_code": doc["city_code"]}
    who = {**ids, "commissioner_id": doc["commissioner_id"]}
    visit_date = date.fromisoformat(doc["visit_date"])
    if kind == "created":
        return "volunteers.assignment.created.v1", AssignmentCreated(
            **who,
            village_code=doc["village_code"],
            visit_date=visit_date,
            household_ids=doc["household_ids"],
            org_id=doc.get("org_id"),
        )
    if kind == "accepted":
        return "volunteers.assignment.accepted.v1", AssignmentAccepted(**who, accepted_at=doc["accepted_at"])
    if kind == "declined":
        return "volunteers.assignment.declined.v1", AssignmentDeclined(
            **who, reason=doc["decline_reason"], declined_at=doc["declined_at"]
        )
    if kind == "cancelled":
        return "volunteers.assignment.cancelled.v1", AssignmentCancelled(
            **ids, reason=doc.get("cancel_reason", ""), cancelled_at=doc["updated_at"]
        )
    if kind == "checked_in":
        first = next(p for p in doc["positions"] if p["kind"] == "check_in")
        return "volunteers.visit.checked_in.v1", VisitCheckedIn(
            **who, village_code=doc["village_code"], checked_in_at=first["device_time"], flags=first["flags"]
        )
    if kind == "missed":
        return "volunteers.visit.missed.v1", VisitMissed(**ids, visit_date=visit_date)
    if kind == "completed":
        report = doc["report_history"][report_version - 1]
        return "volunteers.visit.completed.v1", VisitCompleted(
            **who,
            village_code=doc["village_code"],
            visit_date=visit_date,
            completed_at=doc["completed_at"],
            households_reached=len(report["households_reached"]),
            consultations=report["consultations"],
            trainees=report["people_trained"],
            books=report["books_handed_out"],
            report_version=report_version,
            org_id=doc.get("org_id"),
        )
    raise ValueError(f"no event for {kind}")


async def emit(rt: Runtime, session: Session, kind: str, doc: dict[str, Any], report_version: int = 0) -> None:
    """Write the event for `kind` about `doc` to the outbox, in the caller's transaction."""
    event_type, data = _payload(kind, doc, report_version)
    event = new_event(event_type, data, source=rt.settings.source, subject=f"assignment/{doc['_id']}")
    await add_to_outbox(rt.db, session, event)


async def emit_flag(rt: Runtime, session: Session, doc: dict[str, Any], flag: str, detail: str) -> None:
    data = VisitFlagged(assignment_id=doc["_id"], city_code=doc["city_code"], flag=flag, detail=detail)
    event = new_event(
        "volunteers.visit.flagged.v1", data, source=rt.settings.source, subject=f"assignment/{doc['_id']}"
    )
    await add_to_outbox(rt.db, session, event)
