"""What every route module of the volunteers API shares: roles, headers, reply helpers."""

from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal, require_roles

Coordinator = Annotated[Principal, Depends(require_roles("city", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Commissioner = Annotated[Principal, Depends(require_roles("volunteer"))]
Reader = Annotated[Principal, Depends(require_roles("city", "admin", "volunteer"))]
ShortText = Annotated[str, Field(min_length=1, max_length=64)]
PAGE = 100


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
