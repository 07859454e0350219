"""The one exception domain code raises when a command breaks a rule (no web or database imports here)."""

from typing import Literal


class RuleViolation(Exception):
    """A command that breaks a rule: `code` is stable; `kind` says whether the input or the state is at fault."""

    def __init__(self, code: str, message: str, kind: Literal["conflict", "invalid"] = "conflict") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind
