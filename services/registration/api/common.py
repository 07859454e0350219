"""Dependencies the route modules share."""

from typing import Annotated

from fastapi import Depends, Header, Query

from shared.auth import Principal, require_roles

Operator = Annotated[Principal, Depends(require_roles("venue", "admin"))]
Reviewer = Annotated[Principal, Depends(require_roles("city", "admin"))]
Reader = Annotated[Principal, Depends(require_roles("venue", "city", "admin"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=100)]
