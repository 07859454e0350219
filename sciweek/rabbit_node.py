"""RabbitMQ nodes of our own: for test runs, fault and cluster tests.

A node runs from the Debian `rabbitmq-server` as the `rabbitmq` user, on free AMQP and distribution ports,
with its data, logs, config and enabled-plugins file in a directory of its own under
`/tmp/sciweek-rabbit/`. The directory also holds `owner.pid` (the process that started it): a later run
stops the nodes whose owner is gone and removes their directories.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from sciweek.embedded import free_port
from shared.testing import CTL_TIMEOUT_S, RabbitCtlError, process_alive, rabbitmqctl

NODES_ROOT = Path("/tmp/sciweek-rabbit")


def _is_beam(pid: int) -> bool:
    """Whether `pid` is an Erlang VM (a stale pid file must not make us kill whatever reused the number)."""
    try:
        return b"beam" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class RabbitNode:
    """One RabbitMQ node started by this process; `start()` waits (bounded) until it accepts AMQP."""

    def __init__(self, name: str | None = None, config: str = "") -> None:
        self.name = name or f"sciweek-test-{uuid.uuid4().hex[:8]}@localhost"
        self.config = config  # more rabbitmq.conf lines (e.g. CLUSTER_CONFIG)
        self.dir = NODES_ROOT / self.name.split("@")[0]
        self.amqp_port = free_port()
        self.dist_port = free_port()
        while self.dist_port == self.amqp_port:
            self.dist_port = free_port()

    def url(self, vhost: str = "/") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/{quote(vhost, safe='')}"

    def ctl(self, *args: str, timeout_s: float = CTL_TIMEOUT_S) -> str:
        """rabbitmqctl against this node."""
        return rabbitmqctl(*args, node=self.name, timeout_s=timeout_s)

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
        }

    def _prepare(self) -> None:
        (self.dir / "mnesia").mkdir(parents=True, exist_ok=True)
        (self.dir / "log").mkdir(exist_ok=True)
        # the machine's own config pins its listener to 5672: ours names the port it was given
        listener = f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}\n"
        (self.dir / "rabbitmq.conf").write_text(listener + self.config)
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "owner.pid").write_text(str(os.getpid()))
        if os.geteuid() == 0:
            shutil.chown(NODES_ROOT, "rabbitmq", "rabbitmq")
            for path in [self.dir, *self.dir.rglob("*")]:
                shutil.chown(path, "rabbitmq", "rabbitmq")

    def start(self, timeout_s: float = 90.0) -> "RabbitNode":
        self._prepare()
        subprocess.run(
            ["rabbitmq-server", "-detached"], env=self._environment(), check=True, timeout=30, capture_output=True
        )
        deadline = time.monotonic() + timeout_s
        while True:  # await_startup fails at once until the node has registered with epmd
            left = deadline - time.monotonic()
            try:
                self.ctl("await_startup", "--timeout", str(max(int(left), 1)), timeout_s=max(left, 1) + 5)
                return self
            except RabbitCtlError as error:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RabbitCtlError(f"node {self.name} did not start within {timeout_s:.0f}s: {error}") from None
                time.sleep(0.3)

    def beam_pid(self) -> int | None:
        try:
            return int((self.dir / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL the node's Erlang VM (a crash as the clients see it)."""
        pid = self.beam_pid()
        if pid is not None and _is_beam(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self, remove: bool = True) -> None:
        """Stop the node (SIGKILL if it does not answer in time) and remove its directory."""
        try:
            self.ctl("stop", str(self.dir / "pid"), timeout_s=60)
        except RabbitCtlError:
            self.kill()
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def join(self, other: "RabbitNode") -> None:
        """Make this node a member of `other`'s cluster (stop_app, join_cluster, start_app)."""
        self.ctl("stop_app")
        self.ctl("join_cluster", other.name, timeout_s=60)
        self.ctl("start_app", timeout_s=60)

    def running_nodes(self) -> list[str]:
        """The cluster's running nodes as this node sees them."""
        return list(json.loads(self.ctl("cluster_status", "--formatter", "json"))["running_nodes"])

    @classmethod
    def remove_leftovers(cls) -> list[str]:
        """Stop and delete the nodes of earlier runs whose starting process is gone; return their names."""
        removed: list[str] = []
        for directory in sorted(NODES_ROOT.glob("sciweek-*")) if NODES_ROOT.exists() else []:
            try:
                owner = int((directory / "owner.pid").read_text().strip())
            except (OSError, ValueError):
                owner = 0
            if owner and process_alive(owner):
                continue
            node = cls(f"{directory.name}@localhost")
            node.stop()
            removed.append(node.name)
        return removed


# What a cluster of ours runs with (rabbitmq.conf); the production cluster (deploy/k8s/base/rabbitmq.yaml) has the same
# partition handling. pause_minority: a node that finds itself in the minority of a network split stops serving
# (clients reconnect to the majority) rather than accepting writes that the heal would throw away.
CLUSTER_CONFIG = "cluster_partition_handling = pause_minority\n"


def start_cluster(size: int = 3, timeout_s: float = 120.0) -> list[RabbitNode]:
    """`size` nodes of our own, started side by side and clustered with the first (join_cluster); all stopped on
    failure."""
    nodes = [RabbitNode(config=CLUSTER_CONFIG) for _ in range(size)]
    try:
        with ThreadPoolExecutor(size) as pool:
            list(pool.map(lambda node: node.start(timeout_s), nodes))
        for node in nodes[1:]:
            node.join(nodes[0])
        wait_running(nodes, timeout_s)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def wait_running(nodes: list[RabbitNode], timeout_s: float = 60.0) -> None:
    """Until every node sees all of them running (a restarted node has rejoined)."""
    names = sorted(node.name for node in nodes)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if all(sorted(node.running_nodes()) == names for node in nodes):
                return
        except RabbitCtlError:
            pass
        if time.monotonic() > deadline:
            raise RabbitCtlError(f"cluster {names} not all running after {timeout_s:.0f}s")
        time.sleep(0.5)
