"""End to end: the real service processes, SecantusDB and RabbitMQ; the skeleton flow over HTTP."""

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from sciweek.embedded import Stack, free_port
from shared.auth import mint_token
from shared.settings import SERVICES, Settings
from shared.testing import RabbitVhost
from tests.conftest import today


@pytest.fixture(scope="module")
def stack(vhost: RabbitVhost, tmp_path_factory: pytest.TempPathFactory, programme_file: Path) -> Iterator[Stack]:
    ports = {name: free_port() for name in SERVICES}
    logs = tmp_path_factory.mktemp("e2e-logs")
    env = {"SCIWEEK_NAMESPACE": f"e2e{uuid.uuid4().hex[:8]}", "SCIWEEK_PROGRAMME_FILE": str(programme_file)}
    running = Stack(vhost.url, ":memory:", ports=ports, extra_env=env, log_dir=logs)
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

    until(lambda: reporting_totals(stack)["completed"] >= 1)  # the dashboard, not the rate-limited public progress
    progress = httpx.get(f"{reporting}/api/v1/progress").json()
    baise = next(c for c in progress["cities"] if c["city_code"] == "451000")
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
    # an event of this test's own: reporting's consumed counter then agrees with its inbox, whatever else ran before
    registered = "registration.venue.registered.v1"
    venue = {"name": "柳州工业博物馆", "org_type": "science_base", "city_code": "450200"}
    created = httpx.post(
        f"{stack.services['registration'].url}/api/v1/venues", json=venue, headers=bearer("venue", sub="op-metrics")
    )
    assert created.status_code == 201, created.text

    def counter_agrees_with_inbox() -> bool:
        with MongoClient(stack.db.uri) as mongo:
            inbox = mongo["sciweek_reporting"]["inbox"]
            if inbox.count_documents({"event.data.venue_id": created.json()["id"]}) == 0:
                return False
            consumed = inbox.count_documents({"type": registered})
        metrics = httpx.get(f"{stack.services['reporting'].url}/metrics").text
        return f'sciweek_events_consumed_total{{type="{registered}"}} {float(consumed)}' in metrics

    until(counter_agrees_with_inbox)


def reporting_totals(stack: Stack) -> dict[str, int]:
    dashboard = httpx.get(f"{stack.services['reporting'].url}/api/v1/dashboard", headers=bearer("admin", sub="office"))
    assert dashboard.status_code == 200, dashboard.text
    return dict(dashboard.json()["totals"])


def until(check: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "reporting did not catch up in time"
        time.sleep(0.2)


def test_a_public_booking_reaches_the_dashboard(stack: Stack) -> None:
    registration = stack.services["registration"].url
    before = reporting_totals(stack)
    operator = bearer("venue", sub="op-e2e")
    venue = httpx.post(
        f"{registration}/api/v1/venues",
        json={"name": "广西科技馆", "org_type": "science_museum", "city_code": "450100"},
        headers=operator,
    )
    assert venue.status_code == 201, venue.text
    venue_id = venue.json()["id"]
    city = bearer("city", sub="coord-nn", city="450100")
    assert httpx.post(f"{registration}/api/v1/venues/{venue_id}/approve", headers=city).status_code == 200
    openday = {
        "date": str(today()),
        "sessions": [{"start": "09:00", "end": "11:00", "capacity": 30}],
        "booking_closes_at": f"{today()}T23:59:00+08:00",
        "max_group_size": 5,
    }
    created = httpx.post(f"{registration}/api/v1/venues/{venue_id}/opendays", json=openday, headers=operator)
    assert created.status_code == 201, created.text
    published = httpx.post(f"{registration}/api/v1/opendays/{created.json()['id']}/publish", headers=operator)
    session_id = published.json()["sessions"][0]["session_id"]
    booking = {"session_id": session_id, "name": "李华", "phone": "13912345678", "party_size": 3}
    booked = httpx.post(
        f"{registration}/api/v1/public/bookings", json=booking, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert booked.status_code == 201, booked.text

    until(lambda: reporting_totals(stack)["bookings"] == before["bookings"] + 1)
    after = reporting_totals(stack)
    assert after["booked_people"] - before["booked_people"] == 3
    assert after["venues_approved"] - before["venues_approved"] == 1


def test_a_submitted_exhibit_reaches_the_dashboard(stack: Stack) -> None:
    exhibits = stack.services["exhibits"].url
    before = reporting_totals(stack)
    exhibitor = bearer("exhibitor", sub="user-gxu", org="gxu", city="450100")
    body = {
        "title": "甘蔗全程机械化收获机",
        "zone": 3,
        "industry": "现代农业",
        "summary": "适合丘陵地带",
        "submit": True,
    }
    created = httpx.post(f"{exhibits}/api/v1/submissions", json=body, headers=exhibitor)
    assert created.status_code == 201, created.text

    until(lambda: reporting_totals(stack)["exhibits_submitted"] == before["exhibits_submitted"] + 1)
