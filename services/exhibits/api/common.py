"""Request pieces the exhibits routes share."""

from typing import Annotated, Any

from fastapi import Depends, Header, Query
from fastapi.responses import JSONResponse

from shared.auth import Principal, require_roles
from shared.http import etag

Exhibitor = Annotated[Principal, Depends(require_roles("exhibitor"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Reviewer = Annotated[Principal, Depends(require_roles("reviewer"))]
ReviewReader = Annotated[Principal, Depends(require_roles("reviewer", "admin"))]
Owner = Annotated[Principal, Depends(require_roles("exhibitor", "admin"))]
Reader = Annotated[Principal, Depends(require_roles("exhibitor", "reviewer", "admin"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=100)]


# candidate for shared/: shared.http — a Reply as JSON with the ETag of its version (every service repeats it).
def versioned(reply: tuple[int, dict[str, Any]]) -> JSONResponse:
    """The reply with the ETag of the document's version."""
    status, body = reply
    headers = {"ETag": etag(int(body["version"]))} if "version" in body else None
    return JSONResponse(body, status_code=status, headers=headers)
