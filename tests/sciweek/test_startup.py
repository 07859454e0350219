"""`sciweek up` fails in one clear line (Chinese and English) with the fix, no traceback, no process left behind."""

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sciweek.embedded import SecantusServer, StartupError, free_port
from shared.settings import REPO_ROOT
from shared.testing import RabbitVhost

Up = Callable[..., subprocess.CompletedProcess[str]]


def leftovers(marker: str) -> list[str]:
    """Processes whose environment carries `marker` (every child of that `sciweek up` inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if f"SCIWEEK_TEST_MARKER={marker}".encode() in environ.split(b"\0"):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


@pytest.fixture
def sciweek_up(tmp_path: Path, vhost: RabbitVhost) -> Iterator[Up]:
    """Run `sciweek up` to its end with `env` over a working default; check it left nothing running."""
    marker = uuid.uuid4().hex

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        full = {
            **os.environ,
            "AMQP_URL": vhost.url,
            "SCIWEEK_NAMESPACE": f"up{marker[:8]}",
            "SCIWEEK_TEST_MARKER": marker,
            **env,
        }
        base = ["--data-dir", str(tmp_path / "data" / "secantus"), "--base-port", str(free_port_block())]
        return subprocess.run(
            [sys.executable, "-m", "sciweek.cli", "up", *base, *args],
            env=full,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    yield run
    assert leftovers(marker) == []


def free_port_block() -> int:
    """A port p with p..p+3 free now."""
    while True:
        base = free_port()
        if base < 65000 and all(port_free(base + i) for i in range(4)):
            return base


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("错误 / error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    assert " / " in errors[0]  # Chinese, then English
    return errors[0]


def test_a_port_in_use_is_named_with_the_fix(sciweek_up: Up) -> None:
    base = free_port_block()
    with socket.socket() as taken:  # the exhibits port (the second of four) is taken by someone else
        taken.bind(("127.0.0.1", base + 1))
        taken.listen()
        line = one_clear_line(sciweek_up("--base-port", str(base)), str(base + 1), "端口", "--base-port")
        assert "exhibits" in line


def test_a_broker_that_accepts_tcp_but_says_nothing(sciweek_up: Up) -> None:
    with socket.socket() as silent:  # the kernel completes the handshake; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        result = sciweek_up(AMQP_URL=f"amqp://guest:guest@127.0.0.1:{port}/")
    one_clear_line(result, "AMQP", f"127.0.0.1:{port}", "rabbitmqctl")


def test_no_broker_at_all(sciweek_up: Up) -> None:
    one_clear_line(sciweek_up(AMQP_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}/"), "rabbitmq-server -detached")


def test_a_data_directory_locked_by_another_secantusdb(sciweek_up: Up, tmp_path: Path) -> None:
    other = SecantusServer(tmp_path / "data" / "secantus", durable=False)
    other.start()
    try:
        one_clear_line(sciweek_up(), "SecantusDB", str(tmp_path / "data" / "secantus"), "--data-dir")
    finally:
        other.stop()


def test_secantusdb_refusing_a_locked_directory_is_one_line(tmp_path: Path) -> None:
    first = SecantusServer(tmp_path / "db", durable=False)
    first.start()
    second = SecantusServer(tmp_path / "db", tmp_path / "second.log", durable=False)
    try:
        with pytest.raises(StartupError, match="locked by another SecantusDB process"):
            second.start()
    finally:
        second.stop()
        first.stop()


def test_a_missing_font(sciweek_up: Up) -> None:
    one_clear_line(sciweek_up(SCIWEEK_REPORTING_PDF_FONT="/nonexistent/wqy.ttc"), "SCIWEEK_REPORTING_PDF_FONT", "字体")


def test_a_missing_chromium(sciweek_up: Up) -> None:
    one_clear_line(sciweek_up(SCIWEEK_CHROMIUM="/nonexistent/chromium"), "SCIWEEK_CHROMIUM", "apt-get install")


def test_a_failure_after_the_database_started_stops_it(sciweek_up: Up, vhost: RabbitVhost) -> None:
    # the broker answers AMQP (the check before start-up passes), then refuses the login of the topology step
    refused = vhost.url.replace("guest:guest@", "guest:wrong-password@")
    assert refused != vhost.url
    one_clear_line(sciweek_up(AMQP_URL=refused), "topology")


def test_a_service_that_dies_at_start_up_takes_the_others_down(sciweek_up: Up, tmp_path: Path) -> None:
    broken = tmp_path / "booths.toml"
    broken.write_text("this is not a booth grid", encoding="utf-8")
    line = one_clear_line(sciweek_up(SCIWEEK_EXHIBITS_BOOTHS_FILE=str(broken)), "exhibits")
    assert "exhibits.log" in line
