"""The one exception domain code and use cases raise when a command cannot be carried out (no web imports)."""

from typing import Any, Literal

# what went wrong, in the domain's words; the HTTP layer alone turns a kind into a status (shared/problems.py)
Kind = Literal[
    "invalid",
    "conflict",
    "not_found",
    "forbidden",
    "stale",
    "gone",
    "bad_request",
    "precondition_required",
    "unauthenticated",  # the caller's credential no longer counts (e.g. a revoked device enrolment)
]


class RuleViolation(Exception):
    """A command that breaks a rule or names what is not there: stable `code`, bilingual `message`, `kind`.

    `details` are machine-readable extras for the caller (e.g. the per-row errors of an import).
    """

    def __init__(self, code: str, message: str, kind: Kind = "conflict", **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind
        self.details = details
