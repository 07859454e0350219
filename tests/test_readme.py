"""Every ```sh block of the README runs against a real stack (after `sciweek demo`, as the README says)."""

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sciweek.embedded import Stack, free_port
from sciweek.gateway import GATEWAY_PORT, route_table
from shared.settings import DEFAULT_PORTS, REPO_ROOT, SERVICES
from shared.testing import RabbitVhost


def shell_blocks() -> list[str]:
    """The README's ```sh blocks (the two commands at the top are plain ``` blocks: they are the test itself)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"(?ms)^```sh\n(.*?)^```", text)


@pytest.fixture(scope="module")
def stack(vhost: RabbitVhost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ports = {name: free_port() for name in SERVICES}
    env = {"SCIWEEK_NAMESPACE": f"readme{uuid.uuid4().hex[:8]}", "SCIWEEK_LOG_LEVEL": "WARNING"}
    running = Stack(vhost.url, ":memory:", ports=ports, extra_env=env, log_dir=tmp_path_factory.mktemp("readme"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def on_the_stack(command: str, stack: Stack) -> str:
    """The README's addresses (localhost:8001…8004) pointed at this stack's ports."""
    for name, port in DEFAULT_PORTS.items():
        command = command.replace(f"localhost:{port}", f"127.0.0.1:{stack.ports[name]}")
    return command


def test_every_shell_block_of_the_readme_runs(stack: Stack, tmp_path: Path) -> None:
    reader = tmp_path / "reader"  # a reader's working directory: what the commands write stays out of the checkout
    reader.mkdir()
    (reader / ".venv").symlink_to(REPO_ROOT / ".venv")
    blocks = shell_blocks()
    assert len(blocks) >= 2
    urls = [f"--url={name}={proc.url}" for name, proc in stack.services.items()]
    demo = [sys.executable, "-m", "sciweek.cli", "demo", "--speed", "40000", "--cities", "1", "--scale", "0.4", *urls]
    played = subprocess.run(demo, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert played.returncode == 0, played.stdout + played.stderr[-2000:]
    for block in blocks:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", on_the_stack(block, stack)],
            cwd=reader,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, block + done.stderr
        assert not re.search(r'"status":\s*[45]\d\d', done.stdout), block + done.stdout  # no problem+json answer


def test_every_address_in_the_where_people_go_table_is_served_by_the_service_on_that_port() -> None:
    section = (REPO_ROOT / "README.md").read_text(encoding="utf-8").split("## Where people go", 1)[1].split("\n## ")[0]
    addresses = re.findall(r"`http://127\.0\.0\.1:(\d+)(/[^`]*)`", section)
    assert len(addresses) >= 12
    services_by_port = {port: name for name, port in DEFAULT_PORTS.items()}
    routes = route_table()
    for port, path in addresses:
        if port == str(GATEWAY_PORT):
            continue
        owners = [r.service for r in routes if r.matches(path.rstrip("/") or "/")]
        assert owners == [services_by_port[int(port)]], (port, path, owners)
