"""Request pieces the exhibits routes share."""

from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, require_roles

Exhibitor = Annotated[Principal, Depends(require_roles("exhibitor"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Reviewer = Annotated[Principal, Depends(require_roles("reviewer"))]
ReviewReader = Annotated[Principal, Depends(require_roles("reviewer", "admin"))]
Owner = Annotated[Principal, Depends(require_roles("exhibitor", "admin"))]
Reader = Annotated[Principal, Depends(require_roles("exhibitor", "reviewer", "admin"))]
