"""Enrolments: a coordinator gives a commissioner's phone a revocable credential by QR code (like ODK app users).

The credential is a JWT for role `volunteer` whose `jti` is the enrolment's id; it is not stored: the same
claims (`issued_at`, `expires_at`) sign to the same token again, so the QR code can be printed again later.
"""

from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from shared.rules import RuleViolation

Status = Literal["active", "revoked"]
FRAGMENT = "enrol"  # the app reads its credential from `#enrol=<token>`: a fragment never reaches a server's logs


def new_enrolment(
    enrolment_id: str, commissioner: dict[str, Any], label: str, by: str, now: datetime, lifetime: timedelta
) -> dict[str, Any]:
    return {
        "_id": enrolment_id,
        "commissioner_id": commissioner["_id"],
        "commissioner_name": commissioner["name"],
        "city_code": commissioner["city_code"],
        "label": label,
        "status": "active",
        "created_by": by,
        "issued_at": now.replace(microsecond=0),  # a JWT's times are whole seconds: the token can be made again
        "expires_at": (now + lifetime).replace(microsecond=0),
        "revoked_at": None,
        "revoked_by": None,
    }


def revoke(doc: dict[str, Any], by: str, now: datetime) -> dict[str, Any] | None:
    """The revoked enrolment, or None if it already was (revoking twice changes nothing)."""
    if doc["status"] == "revoked":
        return None
    return {**doc, "status": "revoked", "revoked_at": now, "revoked_by": by}


def link(app_url: str, token: str) -> str:
    """The address a phone opens (or scans) to enrol: the app with the credential in its fragment."""
    return f"{app_url}#{FRAGMENT}={quote(token, safe='')}"


def revoked_violation() -> RuleViolation:
    return RuleViolation(
        "enrolment_revoked",
        "本机的登记已被协调员撤销，请联系协调员重新登记 / this device's enrolment was revoked",
        "unauthenticated",
    )
