"""JWT bearer tokens (PyJWT): verification, the caller's principal, role and scope checks, dev minting."""

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from shared.problems import Problem
from shared.settings import Settings

Role = Literal["admin", "city", "unit", "venue", "exhibitor", "reviewer", "volunteer"]
ROLES: tuple[Role, ...] = ("admin", "city", "unit", "venue", "exhibitor", "reviewer", "volunteer")


class Principal(BaseModel):
    """Who is calling, and what they may touch."""

    sub: str
    role: Role
    city: str | None = None
    venues: list[str] = []
    org: str | None = None
    jti: str | None = None  # the token's id, for credentials a service can revoke (device enrolments, invitations)

    def may_act_for_city(self, city_code: str) -> bool:
        """Admin everywhere; a city coordinator only in their own city."""
        return self.role == "admin" or (self.role == "city" and self.city == city_code)

    def may_act_for_unit(self, unit_code: str) -> bool:
        """Admin everywhere; a supporting unit's liaison only for their own unit (the `org` claim)."""
        return self.role == "admin" or (self.role == "unit" and self.org == unit_code)


class TokenVerifier:
    """Checks signature, algorithm allow-list, `iss`, `aud` and `exp`."""

    def __init__(self, settings: Settings) -> None:
        self.key = settings.jwt_public_key or settings.jwt_secret.get_secret_value()
        self.algorithms = list(settings.jwt_algorithms)
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=self.algorithms,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
            principal = Principal.model_validate(claims)
        except (jwt.PyJWTError, ValidationError) as exc:
            raise Problem(401, "invalid_token", detail=f"令牌无效 / invalid token: {type(exc).__name__}") from exc
        if principal.role == "city" and not principal.city:
            raise Problem(401, "invalid_token", detail="city role requires a `city` claim")
        if principal.role == "unit" and not principal.org:
            raise Problem(401, "invalid_token", detail="unit role requires an `org` claim")
        return principal


def mint_token(
    settings: Settings,
    *,
    role: Role,
    sub: str,
    city: str | None = None,
    venues: list[str] | None = None,
    org: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    jti: str | None = None,
    issued_at: datetime | None = None,
) -> str:
    """A signed token: HS256 with the shared secret, or the first algorithm with `jwt_private_key` when set.

    Tokens for development and tests, and the device credentials a service issues (with a `jti` to revoke them
    by); the same claims and `issued_at` give the same token again.
    """
    now = issued_at or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
    }
    if city:
        claims["city"] = city
    if venues:
        claims["venues"] = venues
    if org:
        claims["org"] = org
    if jti:
        claims["jti"] = jti
    if settings.jwt_private_key is not None:
        return jwt.encode(claims, settings.jwt_private_key.get_secret_value(), algorithm=settings.jwt_algorithms[0])
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def can_mint(settings: Settings) -> bool:
    """Whether this service can sign tokens its own verifier accepts (HMAC, or a private key beside the public)."""
    return settings.jwt_private_key is not None or "HS256" in settings.jwt_algorithms


_bearer = HTTPBearer(auto_error=False, description="JWT bearer token")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The verified caller; 401 without a valid bearer token."""
    if credentials is None:
        raise Problem(401, "missing_token", detail="需要 Bearer 令牌 / a bearer token is required")
    verifier: TokenVerifier = request.app.state.runtime.verifier
    return verifier.verify(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that admits only these roles (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Problem(403, "forbidden_role", detail=f"需要角色 / requires role: {', '.join(roles)}")
        return principal

    return check


# Who may call a route, named for who they are (the same name means the same roles in every service).
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Coordinator = Annotated[Principal, Depends(require_roles("city", "admin"))]  # a city coordinator or the office
SummaryAuthor = Annotated[Principal, Depends(require_roles("city", "unit", "admin"))]
VenueOperator = Annotated[Principal, Depends(require_roles("venue", "admin"))]
VenueOperatorOrCoordinator = Annotated[Principal, Depends(require_roles("venue", "city", "admin"))]
Exhibitor = Annotated[Principal, Depends(require_roles("exhibitor"))]
ExhibitorOrAdmin = Annotated[Principal, Depends(require_roles("exhibitor", "admin"))]
Reviewer = Annotated[Principal, Depends(require_roles("reviewer"))]
ReviewerOrAdmin = Annotated[Principal, Depends(require_roles("reviewer", "admin"))]
ExhibitorReviewerOrAdmin = Annotated[Principal, Depends(require_roles("exhibitor", "reviewer", "admin"))]
Commissioner = Annotated[Principal, Depends(require_roles("volunteer"))]
CoordinatorOrCommissioner = Annotated[Principal, Depends(require_roles("city", "admin", "volunteer"))]
