"""What the app factory gives every service: health, readiness, metrics, problems, limits, correlation."""

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sciweek.embedded import SecantusServer, free_port
from services.registration.main import create_app as create_registration
from services.reporting.main import create_app as create_reporting
from services.volunteers.main import create_app as create_volunteers
from shared.app import Runtime, configure_logging
from shared.envelope import correlation_id_var
from shared.outbox import OUTBOX
from shared.settings import REPO_ROOT, Settings
from shared.testing import eventually, running_service
from tests.volunteers.conftest import commissioner

Auth = Callable[..., dict[str, str]]


async def test_health_ready_and_route_template_metrics(settings_for: Any, auth: Auth) -> None:
    async with running_service(create_reporting(settings_for("reporting"))) as (_, client):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {
            "mongodb": True,
            "rabbitmq": True,
            "consumer": True,
        }
        assert ready.json()["degraded"] == []
        up = (await client.get("/metrics")).text
        for dependency in ("mongodb", "rabbitmq", "consumer"):
            assert f'sciweek_dependency_up{{dependency="{dependency}"}} 1.0' in up
    async with running_service(create_volunteers(settings_for("volunteers"))) as (_, client):
        await client.get("/api/v1/assignments/some-id", headers=auth("admin"))
        await client.get("/api/v1/assignments/other-id", headers=auth("admin"))
        metrics = (await client.get("/metrics")).text
        assert (
            'sciweek_http_requests_total{method="GET",route="/api/v1/assignments/{assignment_id}",status="404"} 2.0'
        ) in metrics


async def test_unknown_route_and_oversized_body_are_problems(settings_for: Any, auth: Auth) -> None:
    app = create_volunteers(settings_for("volunteers", max_body_bytes=2000))
    async with running_service(app) as (_, client):
        missing = await client.get("/api/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["code"] == "http_404"
        assert missing.headers["content-type"] == "application/problem+json"
        huge = {
            "commissioner_id": "c",
            "city_code": "450100",
            "village_code": "v",
            "visit_date": "2020-08-24",
            "planned_activities": ["x" * 150] * 20,
        }
        too_big = await client.post("/api/v1/assignments", json=huge, headers=auth("admin"))
        assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"

        async def chunks() -> Any:
            for _ in range(10):
                yield b" " * 500

        streamed = await client.post(
            "/api/v1/assignments", content=chunks(), headers={**auth("admin"), "content-type": "application/json"}
        )
        assert streamed.status_code == 413


async def test_a_body_full_of_mistakes_gets_a_bounded_problem(settings_for: Any, auth: Auth) -> None:
    async with running_service(create_volunteers(settings_for("volunteers"))) as (_, client):
        body = {"commissioner_id": "c", "city_code": "450100", "village_code": "v", "visit_date": "2020-08-24"}
        body |= {f"k{i}": 0 for i in range(20_000)}  # 250 kB of unknown fields
        answer = await client.post("/api/v1/assignments", json=body, headers=auth("admin"))
        problem = answer.json()
        assert (answer.status_code, problem["code"]) == (422, "validation_error")
        assert len(answer.content) < 30_000
        assert problem["error_count"] == 20_000 and problem["error_counts"] == {"extra_forbidden": 20_000}
        assert len(problem["errors"]) == 100 and problem["errors"][0]["loc"] == ["body", "k0"]


async def test_request_id_is_echoed(settings_for: Any) -> None:
    async with running_service(create_volunteers(settings_for("volunteers"))) as (_, client):
        response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"
        assert len((await client.get("/healthz")).headers["x-request-id"]) == 36


async def test_readiness_fails_when_mongodb_goes_away(settings_for: Any) -> None:
    server = SecantusServer(":memory:")
    # the relay's round and the shutdown wait for the gone server up to the transaction deadline: keep it short
    settings = settings_for("volunteers", mongodb_url=server.start(), transaction_deadline_s=2)
    try:
        async with running_service(create_volunteers(settings)) as (_, client):
            assert (await client.get("/readyz")).status_code == 200
            server.stop()
            gone = await client.get("/readyz")
            assert gone.status_code == 503 and gone.json()["checks"]["mongodb"] is False
    finally:
        server.stop()


async def test_a_database_outage_answers_503_with_retry_after(settings_for: Any, auth: Auth) -> None:
    server = SecantusServer(":memory:")
    # within a deadline pymongo waits for a server until the deadline, not MONGODB_TIMEOUT_MS: keep them short
    settings = settings_for("volunteers", mongodb_url=server.start(), request_deadline_s=2, transaction_deadline_s=2)
    admin = auth("admin")
    try:
        async with running_service(create_volunteers(settings)) as (_, client):
            saved = await client.put("/api/v1/commissioners/c-1", json=commissioner("c-1"), headers=admin)
            assert saved.status_code == 200, saved.text
            server.kill()
            write = await client.put("/api/v1/commissioners/c-2", json=commissioner("c-2"), headers=admin)
            read = await client.get("/api/v1/commissioners/c-1", headers=admin)
            for down in (write, read):  # not 500: nothing is wrong with the request or the code, retry later
                assert down.status_code == 503, down.text
                assert down.headers["content-type"] == "application/problem+json"
                assert down.json()["code"] == "database_unavailable" and int(down.headers["Retry-After"]) > 0
    finally:
        server.stop()


async def test_without_a_broker_the_service_stays_ready_and_takes_writes(
    settings_for: Any, auth: Auth, programme_file: Any
) -> None:
    # readiness means "can serve": a write needs MongoDB only, its event waits in the outbox for the broker
    nowhere = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    app = create_registration(settings_for("registration", amqp_url=nowhere, programme_file=programme_file))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"mongodb": True, "rabbitmq": False, "consumer": True}
            assert ready.json()["degraded"] == ["rabbitmq"]
            venue = {"name": "广西科技馆", "org_type": "science_museum", "city_code": "450100"}
            created = await client.post("/api/v1/venues", json=venue, headers=auth("venue", sub="op-1"))
            assert created.status_code == 201, created.text
            runtime: Runtime = app.state.runtime
            assert await runtime.db[OUTBOX].count_documents({"status": "pending"}) == 1
            metrics = (await client.get("/metrics")).text
            assert 'sciweek_dependency_up{dependency="rabbitmq"} 0.0' in metrics
            assert 'sciweek_dependency_up{dependency="mongodb"} 1.0' in metrics
            assert (await client.get("/healthz")).status_code == 200

    app = create_reporting(settings_for("reporting", amqp_url=nowhere))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["degraded"] == ["rabbitmq", "consumer"]
            assert 'sciweek_dependency_up{dependency="consumer"} 0.0' in (await client.get("/metrics")).text


async def test_periodic_jobs_run_and_survive_failures(settings_for: Any) -> None:
    from fastapi import APIRouter

    from shared.app import Runtime, ServiceSpec, build_app

    runs: list[str] = []

    async def tick(runtime: Runtime) -> None:
        runs.append(runtime.settings.service)
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    spec = ServiceSpec(name="volunteers", title="t", router=APIRouter(), jobs={"tick": (0.05, tick)})
    async with running_service(build_app(spec, settings_for("volunteers"))):
        await eventually(lambda: _at_least(runs, 3))


async def _at_least(items: list[str], n: int) -> bool:
    return len(items) >= n


async def test_uploads_have_their_own_body_limit(settings_for: Any) -> None:
    app = create_volunteers(settings_for("volunteers", max_body_bytes=1000, max_upload_bytes=5000))
    async with running_service(app) as (_, client):
        files = {"file": ("photo.jpg", b"\xff\xd8\xff" + b"\x00" * 3000, "image/jpeg")}
        upload = await client.post("/api/v1/nowhere", files=files)
        assert upload.status_code == 404  # past the middleware: only the route's own file limit applies
        as_json = await client.post(
            "/api/v1/nowhere", content=b"[" + b" " * 3000 + b"]", headers={"content-type": "application/json"}
        )
        assert as_json.status_code == 413
        files = {"file": ("photo.jpg", b"\xff\xd8\xff" + b"\x00" * 6000, "image/jpeg")}
        assert (await client.post("/api/v1/nowhere", files=files)).status_code == 413


def test_logs_are_json_lines_with_the_correlation_id(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    token = correlation_id_var.set("req-42")
    try:
        configure_logging(Settings(service="volunteers"))
        logging.getLogger("sciweek.test").warning("签到 %s", "ok")
    finally:
        correlation_id_var.reset(token)
        root.handlers[:], root.level = saved
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["level"] == "WARNING" and entry["message"] == "签到 ok"
    assert (entry["service"], entry["correlation_id"], entry["logger"]) == ("volunteers", "req-42", "sciweek.test")


async def test_every_service_serves_the_vendored_libraries_cached_for_ever(settings_for: Any) -> None:
    manifest = (REPO_ROOT / "shared" / "web" / "vendor.txt").read_text(encoding="utf-8").splitlines()
    listed = [line.split() for line in manifest if line.strip() and not line.startswith("#")]
    async with running_service(create_volunteers(settings_for("volunteers"))) as (_, client):
        for spec, *files in listed:
            assert any((REPO_ROOT / "shared" / "web" / "vendor" / spec).glob("LICENSE*")), spec
            for name in files:
                response = await client.get(f"/vendor/{spec}/{name}")
                assert response.status_code == 200, (spec, name)
                assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        first = await client.get("/vendor/vue@3.5.45/dist/vue.global.prod.js")
        again = await client.get(
            "/vendor/vue@3.5.45/dist/vue.global.prod.js", headers={"If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304
        assert first.headers["content-encoding"] == "gzip"  # a phone downloads a third of it
        assert first.num_bytes_downloaded < len(first.content) / 2
        assert (await client.get("/vendor/../../settings.py")).status_code == 404
        assert (await client.get("/vendor/vue@9.9.9/dist/vue.global.prod.js")).status_code == 404
        for lib in ("api.js", "queue.js"):  # the apps' common scripts: revalidated, so a deploy is seen at once
            response = await client.get(f"/lib/{lib}")
            assert response.status_code == 200 and response.headers["cache-control"] == "no-cache", lib
