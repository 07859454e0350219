"""Who may call the venue routes: operators (and the office, coordinators where allowed) whose credential stands.

Credentials issued for an invitation carry its id as `jti`; a revoked invitation's credential is refused here,
in one place for every venue route, checked against the database at most every few seconds per replica.
"""

from typing import Annotated

from fastapi import Depends

from services.registration.service import invitations
from shared.app import RuntimeDep
from shared.auth import Principal, require_roles
from shared.problems import Problem

REVOCATION_CACHE = "revoked-credentials"
REVOCATION_CACHE_S = 5.0


async def _standing(rt: RuntimeDep, principal: Principal) -> Principal:
    if principal.jti is None:
        return principal
    cache = rt.cache(REVOCATION_CACHE, REVOCATION_CACHE_S)
    revoked = cache.get(principal.jti)
    if revoked is None:
        revoked = await invitations.is_revoked(rt, principal.jti)
        cache.put(principal.jti, revoked)
    if revoked:
        raise Problem(401, "credential_revoked", detail="此设备的登录已被撤销 / this credential has been revoked")
    return principal


async def _operator(
    rt: RuntimeDep, principal: Annotated[Principal, Depends(require_roles("venue", "admin"))]
) -> Principal:
    return await _standing(rt, principal)


async def _operator_or_coordinator(
    rt: RuntimeDep, principal: Annotated[Principal, Depends(require_roles("venue", "city", "admin"))]
) -> Principal:
    return await _standing(rt, principal)


Operator = Annotated[Principal, Depends(_operator)]
OperatorOrCoordinator = Annotated[Principal, Depends(_operator_or_coordinator)]
