"""The base of every contract model and the field types they share."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

CityCode = Annotated[str, Field(pattern=r"^\d{6}$")]
Count = Annotated[int, Field(ge=0)]


class Contract(BaseModel):
    """Frozen; unknown fields ignored, so producers may add optional fields within a version."""

    model_config = ConfigDict(frozen=True, extra="ignore")
