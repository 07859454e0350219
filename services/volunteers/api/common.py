"""What every route module of the volunteers API shares: roles, headers, reply helpers."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ShortText = Annotated[str, Field(min_length=1, max_length=64)]
PAGE = 100


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
