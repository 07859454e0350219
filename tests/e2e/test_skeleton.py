"""End to end: the real service processes, SecantusDB and RabbitMQ; the skeleton flow over HTTP."""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from sciweek.embedded import Stack, free_port
from shared.auth import mint_token
from shared.settings import SERVICES, Settings
from shared.testing import RabbitVhost


@pytest.fixture(scope="module")
def stack(vhost: RabbitVhost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ports = {name: free_port() for name in SERVICES}
    logs = tmp_path_factory.mktemp("e2e-logs")
    running = Stack(
        vhost.url, ":memory:", ports=ports, extra_env={"SCIWEEK_NAMESPACE": f"e2e{uuid.uuid4().hex[:8]}"}, log_dir=logs
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()
    for name in SERVICES:  # a clean shutdown logs no errors
        assert '"level": "ERROR"' not in (logs / f"{name}.log").read_text(), name


def bearer(role: Any, **claims: Any) -> dict[str, str]:
    token = mint_token(Settings(service="reporting"), role=role, **claims)
    return {"Authorization": f"Bearer {token}"}


def register_reference_data(volunteers: str) -> None:
    """Dispatch needs a registered commissioner, available that day, and the village with its households."""
    admin = bearer("admin", sub="admin-e2e")
    commissioner = {
        "id": "c-e2e",
        "name": "黄志强",
        "phone": "13800000000",
        "city_code": "451000",
        "available_dates": ["2020-08-24"],
    }
    village = {"code": "451021-001", "name": "那坡村", "city_code": "451000", "lat": 23.9, "lon": 106.6}
    assert httpx.put(f"{volunteers}/api/v1/commissioners/c-e2e", json=commissioner, headers=admin).status_code == 200
    assert httpx.put(f"{volunteers}/api/v1/villages/451021-001", json=village, headers=admin).status_code == 200
    for household in ("h1", "h2"):
        body = {"id": household, "village_code": "451021-001", "head_name": "农户"}
        assert httpx.put(f"{volunteers}/api/v1/households/{household}", json=body, headers=admin).status_code == 200


def test_assignment_to_progress_through_real_processes(stack: Stack) -> None:
    volunteers = stack.services["volunteers"].url
    reporting = stack.services["reporting"].url
    request_id = f"e2e-{uuid.uuid4()}"
    assignment = {
        "commissioner_id": "c-e2e",
        "city_code": "451000",
        "village_code": "451021-001",
        "visit_date": "2020-08-24",
        "household_ids": ["h1", "h2"],
    }
    register_reference_data(volunteers)
    created = httpx.post(
        f"{volunteers}/api/v1/assignments",
        json=assignment,
        headers={**bearer("city", sub="coord-bs", city="451000"), "X-Request-ID": request_id},
    )
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == request_id
    report = {"households_reached": ["h1", "h2"], "consultations": 3, "people_trained": 25, "books_handed_out": 40}
    done = httpx.post(
        f"{volunteers}/api/v1/assignments/{created.json()['id']}/report",
        json=report,
        headers=bearer("volunteer", sub="c-e2e"),
    )
    assert done.status_code == 200, done.text

    deadline = time.monotonic() + 30
    while True:
        progress = httpx.get(f"{reporting}/api/v1/progress").json()
        baise = next(c for c in progress["cities"] if c["city_code"] == "451000")
        if baise["completed"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # the public progress allows 120 reads a minute
    assert (baise["completed"], baise["planned"], baise["trainees"], baise["books"]) == (1, 1, 25, 40)
    assert progress["completed"] == 1 and progress["target"] == 1000

    with MongoClient(stack.db.uri) as mongo:
        logged = mongo["sciweek_reporting"]["inbox"].find_one({"type": "volunteers.assignment.created.v1"})
    assert logged is not None and logged["event"]["correlation_id"] == request_id


def test_every_service_is_ready_and_exposes_metrics(stack: Stack) -> None:
    for name, proc in stack.services.items():
        ready = httpx.get(f"{proc.url}/readyz")
        assert ready.status_code == 200, (name, ready.text)
        assert ready.json()["checks"]["mongodb"] is True
        metrics = httpx.get(f"{proc.url}/metrics").text
        assert "sciweek_outbox_pending" in metrics and "sciweek_http_requests_total" in metrics
    reporting_metrics = httpx.get(f"{stack.services['reporting'].url}/metrics").text
    assert 'sciweek_events_consumed_total{type="volunteers.visit.completed.v1"} 1.0' in reporting_metrics
