"""Dependencies the route modules share."""

from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, require_roles

Operator = Annotated[Principal, Depends(require_roles("venue", "admin"))]
Reviewer = Annotated[Principal, Depends(require_roles("city", "admin"))]
Reader = Annotated[Principal, Depends(require_roles("venue", "city", "admin"))]
