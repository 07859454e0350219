"""Who may call the venue routes: operators (and the office, coordinators where allowed) whose credential stands.

Credentials issued for an invitation carry its id as `jti`; a revoked invitation's credential is refused here,
in one place for every venue route (`shared.credentials.standing`: the database at most every few seconds per
replica).
"""

from typing import Annotated

from fastapi import Depends

from services.registration.service.invitations import OPERATORS
from shared.auth import Principal
from shared.credentials import standing

Operator = Annotated[Principal, Depends(standing(OPERATORS, "venue", "admin"))]
OperatorOrCoordinator = Annotated[Principal, Depends(standing(OPERATORS, "venue", "city", "admin"))]
