"""Who may call the exhibitors' routes: an exhibitor (or the office, reviewers where allowed) whose credential
stands. Credentials issued for an invitation carry its id as `jti`; a revoked one is refused here for every route
(shared.credentials.standing)."""

from typing import Annotated

from fastapi import Depends

from services.exhibits.service.invitations import EXHIBITORS
from shared.auth import Principal
from shared.credentials import standing

Exhibitor = Annotated[Principal, Depends(standing(EXHIBITORS, "exhibitor"))]
ExhibitorOrAdmin = Annotated[Principal, Depends(standing(EXHIBITORS, "exhibitor", "admin"))]
ExhibitorReviewerOrAdmin = Annotated[Principal, Depends(standing(EXHIBITORS, "exhibitor", "reviewer", "admin"))]
