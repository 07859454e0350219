"""What every route module of the volunteers API shares: roles, headers, reply helpers."""

from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal, require_roles
from shared.http import etag

Coordinator = Annotated[Principal, Depends(require_roles("city", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Commissioner = Annotated[Principal, Depends(require_roles("volunteer"))]
Reader = Annotated[Principal, Depends(require_roles("city", "admin", "volunteer"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=64)]
ShortText = Annotated[str, Field(min_length=1, max_length=64)]
PAGE = 100


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def reply(result: tuple[int, dict[str, Any]], version_field: str | None = "version") -> JSONResponse:
    status, body = result
    headers = {"ETag": etag(int(body[version_field]))} if version_field and version_field in body else None
    return JSONResponse(body, status_code=status, headers=headers)
