"""Schemathesis over each service's OpenAPI, with tokens of every role: no server error, and no status code the
OpenAPI does not document (every refusal is application/problem+json with a stable code)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from sciweek.embedded import free_port
from shared.problems import PROBLEM_JSON
from shared.settings import SERVICES
from shared.testing import eventually
from tests.hostile.conftest import Services, in_thread

EXAMPLES = 6  # per operation: four services' runs stay well under a minute on two cores
NOT_FUZZED = {("GET", "/api/v1/dashboard/stream")}  # Server-Sent Events: the response never ends
ROLES: list[tuple[str, dict[str, Any]]] = [
    ("admin", {}),
    ("admin", {}),  # twice: most routes admit the office, so more examples get past the role check
    ("city", {"city": "450100"}),
    ("venue", {}),
    ("exhibitor", {"org": "gxu", "city": "450100"}),
    ("reviewer", {}),
    ("volunteer", {}),
    ("unit", {"org": "gxu"}),
]


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """`app` (its lifespan already running) on a local socket, served from the test's event loop."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await eventually(started, timeout_s=10, interval_s=0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def fuzz(services: Services, schema: Any, base_url: str) -> list[str]:
    """Every operation of `schema` with EXAMPLES generated cases (valid and invalid); the failures found."""
    failures: list[str] = []
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NOT_FUZZED:
            continue
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases, role=st.sampled_from(ROLES))
        def call(case: Any, role: tuple[str, dict[str, Any]]) -> None:
            headers = services.auth(role[0], **role[1])  # type: ignore[arg-type]
            response = case.call(base_url=base_url, session=session, headers=headers)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance], headers=headers)
            if response.status_code >= 400:
                assert response.headers["content-type"] == [PROBLEM_JSON], response.text[:300]
                assert response.json()["code"], response.text[:300]

        try:
            call()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    session.close()
    return failures


@pytest.mark.parametrize("service", SERVICES)
async def test_the_api_answers_as_its_openapi_says(services: Services, service: str) -> None:
    app = services.apps[service]
    schema = schemathesis.openapi.from_dict(app.openapi())
    failures: list[str] = []
    async with serving(app) as base_url:
        await in_thread(lambda: failures.extend(fuzz(services, schema, base_url)))
    assert failures == [], "\n\n".join(failures)
