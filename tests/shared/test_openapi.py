"""Every route's OpenAPI names the problems it can give, as application/problem+json, and only those."""

import importlib
from typing import Any

from shared.problems import PROBLEM_JSON
from shared.settings import SERVICES, Settings


def operations() -> list[tuple[str, str, str, dict[str, Any]]]:
    found = []
    for service in SERVICES:
        spec = importlib.import_module(f"services.{service}.main").create_app(Settings(service=service)).openapi()
        for path, methods in spec["paths"].items():
            found += [(service, method.upper(), path, operation) for method, operation in methods.items()]
    return found


def parameters(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == where}


def test_every_problem_is_documented_as_problem_json() -> None:
    for service, method, path, operation in operations():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == [PROBLEM_JSON], (service, method, path, status)


def test_a_route_documents_only_the_problems_it_can_give() -> None:
    for service, method, path, operation in operations():
        statuses = {int(s) for s in operation["responses"] if int(s) >= 400}
        where = (service, method, path, sorted(statuses))
        authed = bool(operation.get("security"))
        assert (401 in statuses) == authed and (403 in statuses) == authed, where
        assert (412 in statuses) == ("if-match" in parameters(operation, "header")), where
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        assert (422 in statuses) == (takes_input or method != "GET"), where  # invalid input, or a rule broken
        if parameters(operation, "path"):
            assert 404 in statuses, where
        if path.startswith("/api/v1/") and not authed:
            assert 429 in statuses, where  # public routes are rate limited


def test_the_public_catalogue_and_a_versioned_edit() -> None:
    documented = {(s, m, p): {int(c) for c in o["responses"]} for s, m, p, o in operations()}
    assert documented[("exhibits", "GET", "/api/v1/catalogue")] == {200, 400, 422, 429}
    assert documented[("volunteers", "PATCH", "/api/v1/assignments/{assignment_id}")] == {
        200,
        400,
        401,
        403,
        404,
        409,
        412,
        413,
        422,
        428,
    }
