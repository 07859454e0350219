"""The embedded system: a SecantusDB process and the four service processes, started and stopped together.

SecantusDB (GPL-2.0) runs from its own virtual environment as a separate process; nothing here imports it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from shared.settings import DEFAULT_PORTS, REPO_ROOT, SERVICES

SECANTUS_URI_OPTIONS = "directConnection=true&retryWrites=false&maxIdleTimeMS=60000"
TOPOLOGY_TIMEOUT_S = 60


class StartupError(Exception):
    """The stack could not start: one line (Chinese and English) that says why and what to do."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tcp_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def amqp_reachable(amqp_url: str) -> bool:
    """Whether something listens at the broker address of `amqp_url`."""
    parts = urlsplit(amqp_url)
    return tcp_reachable(parts.hostname or "127.0.0.1", parts.port or 5672)


def terminate(process: "subprocess.Popen[bytes] | None", timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout_s`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def secantus_binary() -> Path:
    return Path(os.environ.get("SCIWEEK_SECANTUS_BIN", REPO_ROOT / ".venv-secantus" / "bin" / "secantusd-py"))


class SecantusServer:
    """A SecantusDB server process on a free port; `storage` is a directory or ":memory:".

    `durable` (on-disk storage only) runs it with `--sync-on-commit`: SecantusDB 0.7 honours `j: true` on
    single writes but not on `commitTransaction`, so without it a committed, acknowledged transaction
    can be lost on a crash (measured: 87 of 3,555 with `j: true`, 0 of 3,063 with the flag).
    """

    def __init__(self, storage: str | Path, log_path: Path | None = None, *, durable: bool = True) -> None:
        self.storage = str(storage)
        self.log_path = log_path
        self.durable = durable and self.storage != ":memory:"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?{SECANTUS_URI_OPTIONS}"

    def start(self, timeout_s: float = 60.0) -> str:
        binary = secantus_binary()
        if not binary.exists():
            raise StartupError(f"未安装 SecantusDB / SecantusDB is not installed at {binary}: run ./scripts/install")
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        logged_from = self.log_path.stat().st_size if self.log_path and self.log_path.exists() else 0
        # run from the storage's parent so no stray ./secantusd.toml is picked up; flags are explicit anyway
        self.process = subprocess.Popen(
            [
                str(binary),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                self.storage,
                "--log-level",
                "WARNING",
                *(["--sync-on-commit"] if self.durable else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not tcp_reachable("127.0.0.1", self.port, 0.2):
            if self.process.poll() is not None:
                raise StartupError(self._exit_reason(logged_from))
            if time.monotonic() > deadline:
                self.stop()
                raise StartupError(f"SecantusDB 未能在 {timeout_s:.0f} 秒内启动 / SecantusDB did not start in time")
            time.sleep(0.1)
        return self.uri

    def _exit_reason(self, logged_from: int) -> str:
        code = self.process.returncode if self.process else None
        tail = ""
        if self.log_path and self.log_path.exists():
            with open(self.log_path, "rb") as f:
                f.seek(logged_from)
                tail = f.read().decode(errors="replace")
        if "already being managed by another process" in tail or "WiredTiger.lock" in tail:
            return (
                f"数据目录被另一个 SecantusDB 进程占用 / the data directory {self.storage} is locked by another "
                "SecantusDB process: stop the other `sciweek up` or use --data-dir"
            )
        where = f": see {self.log_path}" if self.log_path else ""
        return f"SecantusDB 启动失败 / SecantusDB exited with code {code}{where}"

    def stop(self, timeout_s: float = 15.0) -> None:
        terminate(self.process, timeout_s)

    def kill(self) -> None:
        """SIGKILL the server (a crash); `start()` brings it back on the same port and data."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class ServiceProcess:
    """One service run as `python -m sciweek.cli serve NAME` with its own environment."""

    def __init__(self, name: str, port: int, env: Mapping[str, str], log_path: Path | None = None) -> None:
        self.name = name
        self.port = port
        self.env = {**os.environ, **env, "SCIWEEK_PORT": str(port)}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab") if self.log_path else None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sciweek.cli", "serve", self.name],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                where = f": see {self.log_path}" if self.log_path else ""
                raise StartupError(
                    f"服务 {self.name} 启动失败 / {self.name} exited with code {self.process.returncode}{where}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise StartupError(f"服务 {self.name} 未能在 {timeout_s:.0f} 秒内就绪 / {self.name} was not ready in time")

    def stop(self, timeout_s: float = 20.0) -> None:
        terminate(self.process, timeout_s)

    def kill(self) -> None:
        """SIGKILL the replica and its process group (a crash); `start()` brings it back on the same port."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def spread_ports(ports: Mapping[str, int], replicas: int) -> dict[str, list[int]]:
    """Where each replica listens when a gateway holds the service's own port: 8001 → 8011, 8021, … (base + 10·i)."""
    return {name: [port + 10 * i for i in range(1, replicas + 1)] for name, port in ports.items()}


class Stack:
    """SecantusDB plus the four services, against the broker at `amqp_url` (a node list for a cluster).

    With `replicas` > 1 each service runs as that many independent processes on one database and broker, on the
    ports `replica_ports` gives (default: `spread_ports()`); a gateway (nginx) may then hold `ports`, one per
    service, in front of them. `services` is the first replica of each, `replicas` all of them.
    """

    def __init__(
        self,
        amqp_url: str,
        storage: str | Path,
        ports: Mapping[str, int] = DEFAULT_PORTS,
        extra_env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        durable: bool = True,
        replicas: int = 1,
        replica_ports: Mapping[str, list[int]] | None = None,
    ) -> None:
        self.amqp_url = amqp_url
        self.log_dir = log_dir
        self.db = SecantusServer(storage, log_dir / "secantus.log" if log_dir else None, durable=durable)
        self.extra_env = dict(extra_env or {})
        self.ports = dict(ports)
        if replica_ports is None:
            replica_ports = spread_ports(self.ports, replicas) if replicas > 1 else {n: [p] for n, p in ports.items()}
        self.replica_ports = {name: list(replica_ports[name][:replicas]) for name in SERVICES}
        self.replicas: dict[str, list[ServiceProcess]] = {}

    @property
    def services(self) -> dict[str, ServiceProcess]:
        """The first replica of each service."""
        return {name: procs[0] for name, procs in self.replicas.items()}

    def start(self) -> None:
        """Start everything, or (on any failure) stop whatever was started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        mongodb_url = self.db.start()
        env = {"AMQP_URL": self.amqp_url, "MONGODB_URL": mongodb_url, **self.extra_env}
        self.declare_topology(env)
        for name in SERVICES:
            self.replicas[name] = []
            for i, port in enumerate(self.replica_ports[name]):
                suffix = f"-{i + 1}" if len(self.replica_ports[name]) > 1 else ""
                log = self.log_dir / f"{name}{suffix}.log" if self.log_dir else None
                self.replicas[name].append(ServiceProcess(name, port, env, log))
                self.replicas[name][-1].start()
        for proc in self.all_processes():
            proc.wait_ready()

    def all_processes(self) -> list[ServiceProcess]:
        return [proc for procs in self.replicas.values() for proc in procs]

    def declare_topology(self, env: Mapping[str, str]) -> None:
        """`sciweek topology` in a child process, bounded in time; its failure is one line."""
        where = ", ".join(urlsplit(url).netloc.rpartition("@")[2] for url in self.amqp_url.split(","))
        try:
            subprocess.run(
                [sys.executable, "-m", "sciweek.cli", "topology"],
                env={**os.environ, **env},
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
                timeout=TOPOLOGY_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:  # run() has killed the child
            raise StartupError(
                f"RabbitMQ（{where}）在 {TOPOLOGY_TIMEOUT_S} 秒内没有完成队列声明 / the broker at {where} did not "
                "declare the topology in time: check `rabbitmqctl status` or restart it"
            ) from exc
        except subprocess.CalledProcessError as exc:
            last = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            raise StartupError(f"声明队列失败 / declaring the topology at {where} failed: {last[0]}") from exc

    def dead_replicas(self) -> list[ServiceProcess]:
        """Replicas whose process has exited."""
        return [p for p in self.all_processes() if p.process is not None and p.process.poll() is not None]

    def dead(self) -> list[str]:
        """Services whose process has exited (any of its replicas)."""
        return sorted({p.name for p in self.dead_replicas()})

    def stop(self) -> None:
        for proc in self.all_processes():
            if proc.process is not None and proc.process.poll() is None:
                proc.process.send_signal(signal.SIGTERM)
        for proc in self.all_processes():
            proc.stop()
        self.db.stop()
