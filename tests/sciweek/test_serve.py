"""`sciweek serve` runs uvicorn (uvloop, httptools, SCIWEEK_WORKERS processes) believing forwarded headers only from
SCIWEEK_TRUSTED_PROXIES."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sciweek.cli import proxy_options
from sciweek.embedded import ServiceProcess, free_port
from shared.settings import Settings
from shared.testing import RabbitVhost
from tests.conftest import ProcessStarter

LISTING = "/api/v1/public/opendays"
Serve = Callable[[str], ServiceProcess]


@pytest.fixture
def serve(
    vhost: RabbitVhost, mongodb_url: str, namespace: str, programme_file: Path, tmp_path: Path
) -> Iterator[Serve]:
    """Start `sciweek serve registration` (3 public requests a minute) trusting the given proxies."""
    started: list[ServiceProcess] = []

    def start(trusted_proxies: str) -> ServiceProcess:
        env = {
            "AMQP_URL": vhost.url,
            "MONGODB_URL": mongodb_url,
            "SCIWEEK_NAMESPACE": namespace,
            "SCIWEEK_PUBLIC_RATE_LIMIT": "3/minute",
            "SCIWEEK_TRUSTED_PROXIES": trusted_proxies,
            "SCIWEEK_PROGRAMME_FILE": str(programme_file),
            "SCIWEEK_LOG_LEVEL": "WARNING",
            "FORWARDED_ALLOW_IPS": "*",  # uvicorn's own variable must not widen what the setting says
        }
        process = ServiceProcess("registration", free_port(), env, tmp_path / f"registration-{len(started)}.log")
        started.append(process)
        process.start()
        process.wait_ready()
        return process

    yield start
    for process in started:
        process.stop()


def statuses(url: str, forwarded: list[str]) -> list[int]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return [client.get(LISTING, headers={"X-Forwarded-For": hops}).status_code for hops in forwarded]


def test_without_trusted_proxies_a_forwarded_for_header_changes_nobodys_address(serve: Serve) -> None:
    process = serve("")
    assert statuses(process.url, [f"10.0.0.{i}" for i in range(4)]) == [200, 200, 200, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(serve: Serve) -> None:
    process = serve("127.0.0.1")  # the way bench.registration simulates many phones from one machine
    assert statuses(process.url, [f"192.0.2.{i}, 198.51.100.7" for i in range(4)]) == [200, 200, 200, 429]
    assert statuses(process.url, ["198.51.100.8"]) == [200]


def test_uvicorn_options_follow_the_setting() -> None:
    assert proxy_options(Settings(service="registration")) == {"proxy_headers": False}
    trusted = Settings(service="registration", trusted_proxies="10.0.0.0/8,::1")
    assert proxy_options(trusted) == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.0/8", "::1/128"]}


def worker_pids(parent: int) -> list[int]:
    """The live worker processes uvicorn spawned from `parent` (not multiprocessing's resource tracker), from /proc."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:  # exited meanwhile
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and b"spawn_main" in command:
            workers.append(int(stat.parent.name))
    return workers


def test_a_service_runs_several_worker_processes(service_process: ProcessStarter) -> None:
    process, _ = service_process("registration", SCIWEEK_WORKERS="2")
    assert process.process is not None
    with httpx.Client(base_url=process.url, timeout=30) as client:
        assert [client.get("/readyz").status_code for _ in range(6)] == [200] * 6
        assert client.get(LISTING).status_code == 200
    workers = worker_pids(process.process.pid)
    assert len(workers) == 2, f"uvicorn runs workers {workers}"
    for pid in workers:  # each worker imported the app with uvloop and httptools, not the pure-Python fallbacks
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "uvloop" in maps and "httptools" in maps, f"worker {pid} runs without uvloop/httptools"


def test_serve_uses_uvloop_and_httptools_with_the_configured_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from sciweek import cli

    captured: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: captured.update(options, app=app))
    monkeypatch.setenv("SCIWEEK_WORKERS", "3")
    monkeypatch.setenv("SCIWEEK_SERVICE", "")  # serve() sets it: restored after the test
    cli.main(["serve", "exhibits"])
    assert captured["app"] == "sciweek.cli:service_app" and captured["factory"] is True
    assert (captured["workers"], captured["loop"], captured["http"]) == (3, "uvloop", "httptools")
    assert os.environ["SCIWEEK_SERVICE"] == "exhibits"  # what the worker processes' factory reads
