"""What the OpenAPI of every route says it may answer besides success: each problem status it can really give, as
application/problem+json, derived from what the route takes (token, rate limit, If-Match, path, body, method)."""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared.auth import current_principal
from shared.http import rate_limited
from shared.problems import HTTP_TITLES, PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "stable, machine-readable"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
READS = {"GET", "HEAD"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` documenting each status as application/problem+json (for a route's statuses no rule derives)."""
    return {
        status: {
            "description": HTTP_TITLES.get(status, "错误 / Error"),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


def derived_problems(route: APIRoute) -> set[int]:
    """The problem statuses a route can give by what it takes."""
    calls = set(_calls(route.dependant))
    params = list(_params(route.dependant))
    headers = {p.alias.lower() for p in _header_params(route.dependant)}
    statuses = {400}  # an unreadable X-Request-ID (every route), an invalid cursor
    if current_principal in calls:
        statuses |= {401, 403}  # no or a bad token; a role or scope that may not
    if rate_limited in calls:
        statuses.add(429)
    if params:
        statuses.add(422)  # request validation
    if route.dependant.path_params:
        statuses.add(404)
    if "if-match" in headers:
        statuses |= {409, 412, 428}  # changed meanwhile, stale version, If-Match missing
    if route.body_field is not None:
        statuses.add(413)  # past the body size limit
        if str(getattr(route.body_field.field_info, "media_type", "")).startswith("multipart/"):
            statuses.add(415)  # an upload of a type the route does not take
    if set(route.methods or ()) - READS:
        statuses |= {409, 422}  # a command that conflicts with the state, or breaks a rule
    return statuses


def document_problems(app: FastAPI) -> None:
    """Add the derived problem responses to every route of `app` (what a route declares itself is kept)."""
    for route in _api_routes(app.router):
        route.responses = {**problem_responses(*sorted(derived_problems(route))), **route.responses}


def _api_routes(router: Any) -> Iterator[APIRoute]:
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI keeps an included router whole
            yield from _api_routes(route.original_router)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _params(dependant: Dependant) -> Iterator[Any]:
    yield from (*dependant.path_params, *dependant.query_params, *dependant.header_params, *dependant.body_params)
    for sub in dependant.dependencies:
        yield from _params(sub)


def _header_params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.header_params
    for sub in dependant.dependencies:
        yield from _header_params(sub)
