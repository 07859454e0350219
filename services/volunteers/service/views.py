"""How stored documents are shown: ids renamed, times as ISO text, personal data masked by audience."""

from datetime import datetime
from typing import Any

from services.volunteers.domain.reference import mask_name
from shared.auth import Principal
from shared.privacy import mask_phone
from shared.rules import RuleViolation

INTERNAL = ("_id", "report_history", "pending_edits", "previous_commissioner_ids")


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def assignment_view(doc: dict[str, Any]) -> dict[str, Any]:
    view = {k: _json(v) for k, v in doc.items() if k not in INTERNAL}
    return {"id": doc["_id"], **view}


def tombstone(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], "status": doc["status"], "version": doc["version"], "deleted": True}


def commissioner_view(doc: dict[str, Any], viewer: Principal) -> dict[str, Any]:
    """The phone number in full only for admin and the commissioner themself."""
    view = {"id": doc["_id"], **{k: _json(v) for k, v in doc.items() if k != "_id"}}
    if not (viewer.role == "admin" or viewer.sub == doc["_id"]):
        view["phone"] = mask_phone(doc["phone"])
    return view


def village_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {"code": doc["_id"], **{k: _json(v) for k, v in doc.items() if k != "_id"}}


def household_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "village_code": doc["village_code"],
        "head_name": mask_name(doc["head_name"]),
        "needs": doc.get("needs", []),
    }


def scope_filter(actor: Principal) -> dict[str, Any]:
    """The assignments a caller may see: admin all, a coordinator their city, a commissioner their own."""
    if actor.role == "admin":
        return {}
    if actor.role == "city":
        return {"city_code": actor.city}
    if actor.role == "volunteer":
        return {"commissioner_id": actor.sub}
    return {"_id": {"$exists": False}}


def not_found(what: str = "assignment") -> RuleViolation:
    return RuleViolation(f"{what}_not_found", f"不存在或无权查看 / no such {what}", "not_found")


def check_city(actor: Principal, city_code: str) -> None:
    if not actor.may_act_for_city(city_code):
        raise RuleViolation("out_of_scope", "只能管理本市的数据 / only your own city", "forbidden")
