"""Helpers of the reporting tests: a running service, publish events as producers would, wait until they are applied.

One service runs for a whole module (`reporting`, emptied and quiet before each test); a test that needs other
settings starts its own.
"""

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import pytest

from services.reporting.main import create_app
from shared.app import Runtime
from shared.envelope import Envelope
from shared.idempotency import INBOX
from shared.testing import eventually, reset_service, running_service

Service = tuple[Runtime, httpx.AsyncClient]
# deliveries a module's service handled before the running test began, by runtime
_HANDLED_BEFORE: dict[int, float] = {}


@pytest.fixture(scope="module")
async def reporting_service(module_settings_for: Callable[..., Any]) -> AsyncIterator[Service]:
    async with running_service(create_app(module_settings_for("reporting"))) as service:
        yield service
    _HANDLED_BEFORE.pop(id(service[0]), None)


@pytest.fixture
async def reporting(reporting_service: Service) -> Service:
    """The module's service, quiet and empty: no event, projection, summary or target of an earlier test."""
    runtime = reporting_service[0]
    await reset_service(runtime)
    _HANDLED_BEFORE[id(runtime)] = _handled_since_start(runtime)
    return reporting_service


async def publish(runtime: Runtime, events: Iterable[Envelope]) -> None:
    for event in events:
        await runtime.broker.publish(event)


def handled(runtime: Runtime) -> float:
    """Deliveries the consumer finished in this test: applied plus acknowledged duplicates."""
    return _handled_since_start(runtime) - _HANDLED_BEFORE.get(id(runtime), 0.0)


def _handled_since_start(runtime: Runtime) -> float:
    total = 0.0
    for metric in runtime.metrics.registry.collect():
        if metric.name in ("sciweek_events_consumed", "sciweek_events_duplicate"):
            total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


async def settled(runtime: Runtime, distinct: int, deliveries: int) -> None:
    """Wait until `deliveries` were handled and `distinct` events are in the log."""

    async def done() -> bool:
        stored = await runtime.db[INBOX].count_documents({})
        return handled(runtime) >= deliveries and stored == distinct

    await eventually(done, timeout_s=30)
