"""Signed QR tickets: verifiable at the door from the token alone, also offline.

Tickets are JWTs signed with Ed25519 (EdDSA). The private key is derived from the service's ticket secret
(`SCIWEEK_REGISTRATION_QR_SECRET`), so no new secret is needed; the public key is published
(`GET /api/v1/public/ticket-key`) and a door device verifies tickets with it without holding any secret.
"""

import base64
import hashlib
import io
from functools import lru_cache
from typing import Any

import jwt
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.rules import RuleViolation

ISSUER = "sciweek-registration-ticket"
ALGORITHM = "EdDSA"
KEY_CONTEXT = b"sciweek-registration-ticket-ed25519:"


@lru_cache(maxsize=4)
def signing_key(secret: str) -> Ed25519PrivateKey:
    """The Ed25519 private key of `secret` (deterministic: every replica derives the same one)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(KEY_CONTEXT + secret.encode()).digest())


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_key(secret: str) -> dict[str, str]:
    """The verification key as a JWK (OKP / Ed25519) with its key id."""
    raw = signing_key(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), "kid": hashlib.sha256(raw).hexdigest()[:12]}


def _verification_key(secret: str) -> Ed25519PublicKey:
    return signing_key(secret).public_key()


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
    return jwt.encode(claims, signing_key(secret), algorithm=ALGORITHM, headers={"kid": public_key(secret)["kid"]})


def read_ticket(secret: str, token: str) -> dict[str, Any] | None:
    """The claims of a genuine ticket, or None if it is forged, altered or not a ticket."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, _verification_key(secret), algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["iss"]}
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


def qr_png(token: str, scale: int = 6) -> bytes:
    """The ticket (or any text) as a PNG QR code."""
    out = io.BytesIO()
    segno.make(token, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
