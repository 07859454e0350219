"""Signed QR tickets: verifiable at the door from the token alone (HS256 with the service's own secret)."""

import io
from typing import Any

import jwt
import segno

from shared.rules import RuleViolation

ISSUER = "sciweek-registration-ticket"


def sign_ticket(secret: str, booking: dict[str, Any]) -> str:
    """The QR token of a confirmed booking: who, where, which day, how many."""
    claims = {
        "iss": ISSUER,
        "b": booking["_id"],
        "v": booking["venue_id"],
        "s": booking["session_id"],
        "d": booking["date"],
        "n": booking["party_size"],
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_ticket(secret: str, token: str) -> dict[str, Any] | None:
    """The claims of a genuine ticket, or None if it is forged, altered or not a ticket."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["iss"]}
        )
    except jwt.PyJWTError:
        return None
    if not all(isinstance(claims.get(k), str) for k in ("b", "v", "s", "d")) or not isinstance(claims.get("n"), int):
        return None
    return claims


def require_ticket(secret: str, token: str) -> dict[str, Any]:
    """`read_ticket`, or 422 invalid_ticket."""
    claims = read_ticket(secret, token)
    if claims is None:
        raise RuleViolation("invalid_ticket", "二维码无效或被篡改 / forged or altered ticket", "invalid")
    return claims


def qr_png(token: str) -> bytes:
    """The ticket as a PNG QR code."""
    out = io.BytesIO()
    segno.make(token, error="m").save(out, kind="png", scale=6, border=2)
    return out.getvalue()
