"""The test run owns its broker: a wedged machine broker cannot hold it up."""

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest

from sciweek.rabbit_node import NODES_ROOT, RabbitNode
from shared.settings import REPO_ROOT
from shared.testing import RabbitCtlError, rabbitmqctl


class WedgedBroker:
    """A TCP listener that accepts connections and never answers: a broker stuck before the AMQP handshake."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted.append(connection)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.socket.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def wedged() -> Iterator[WedgedBroker]:
    broker = WedgedBroker()
    yield broker
    broker.close()


async def test_the_wedge_is_real_a_client_hangs_on_it(wedged: WedgedBroker) -> None:
    with pytest.raises((TimeoutError, asyncio.TimeoutError)):
        await asyncio.wait_for(aio_pika.connect(wedged.url), 2)
    assert len(wedged.accepted) == 1


def test_the_suite_runs_on_its_own_node_when_the_machine_broker_is_wedged(wedged: WedgedBroker) -> None:
    # the child sees the wedge wherever the machine broker would be looked for: AMQP_URL (the settings'
    # default) and rabbitmqctl's default node
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIWEEK_TEST_")}
    env |= {"AMQP_URL": wedged.url, "RABBITMQ_NODENAME": "wedged@localhost"}
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/shared/test_consumer.py::test_same_event_three_times_applies_once",
            "tests/shared/test_outbox.py::test_relay_survives_connection_loss",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-2000:]
    assert "2 passed" in child.stdout
    assert wedged.accepted == [], "something in the run connected to the machine broker's address"


def test_rabbitmqctl_is_bounded_and_says_which_node() -> None:
    # a node name that epmd does not know answers at once; the time bound is what a wedged node meets
    with pytest.raises(RabbitCtlError, match=r"did not answer within 0s"):
        rabbitmqctl("status", node="nobody@localhost", timeout_s=0.001)
    left = subprocess.run(["pgrep", "-f", "nobody@localhost"], capture_output=True, text=True)
    assert left.stdout == "", "a timed-out rabbitmqctl left its Erlang CLI running"
    with pytest.raises(RabbitCtlError, match="failed"):
        rabbitmqctl("status", node="nobody@localhost", timeout_s=30)


def test_an_interrupted_runs_node_is_removed_by_the_next_run(tmp_path: Path) -> None:
    orphan = RabbitNode().start()
    owner = subprocess.Popen([sys.executable, "-c", "pass"])
    owner.wait()
    (orphan.dir / "owner.pid").write_text(str(owner.pid))  # its starting process is gone
    assert orphan.ctl("list_vhosts", "name")
    removed = RabbitNode.remove_leftovers()
    assert orphan.name in removed
    assert not orphan.dir.exists()
    with pytest.raises(RabbitCtlError):
        orphan.ctl("status", timeout_s=20)
    assert NODES_ROOT.exists()
