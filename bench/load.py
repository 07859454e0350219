"""What the HTTP benchmarks share: `wrk` (a C load generator) driven by Lua scripts, and CPU per process.

`wrk` is the Debian package of the same name (`apt-get install -y wrk`). Each script in `bench/lua/` prints
one JSON line from its `done()` (answers by status, the span from the first request sent to the last answer,
latency percentiles, socket errors), which `run_wrk` returns. CPU is read from `/proc/<pid>/stat` (user +
system time of the process and its children threads, and of its child processes for multi-worker servers).
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LUA = Path(__file__).parent / "lua"
TICKS = os.sysconf("SC_CLK_TCK")


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: run bench/install (Debian package wrk)")
    return found


def run_wrk(
    url: str,
    script: str,
    *,
    connections: int,
    threads: int = 2,
    timeout_s: int = 30,
    bound_s: int = 600,
    args: list[str] | None = None,
    watch: Mapping[str, list[int]] | None = None,
) -> dict[str, Any]:
    """Run `wrk` with `bench/lua/<script>` against `url` until its threads have done their work (at most `bound_s`).

    Returns the script's JSON summary with `cpu`: each watched group's and wrk's CPU over the run, in percent of
    one core. wrk only stops early on SIGINT, which it gets once every thread has had its answers (see common.lua).
    """
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as markers:
        command = [wrk_binary(), "-t", str(threads), "-c", str(connections), "-d", f"{bound_s}s"]
        command += ["--timeout", f"{timeout_s}s", "-s", str(LUA / script), url]
        command += ["--", markers, str(threads), *(args or [])]
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        with cpu_of(watch or {}) as cpu:
            wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            all_sent: float | None = None
            while wrk.poll() is None:
                names = os.listdir(markers)
                if sum(n.startswith("done-") for n in names) == threads:
                    break
                if all_sent is None and sum(n.startswith("sent-") for n in names) == threads:
                    all_sent = time.monotonic()
                if all_sent is not None and time.monotonic() > all_sent + timeout_s + 1:
                    break  # what is still unanswered was dropped: wrk has counted it as an error
                time.sleep(0.02)
            if wrk.poll() is None:
                wrk.send_signal(signal.SIGINT)
            out, err = wrk.communicate()
        elapsed = time.monotonic() - started
    own = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child reaped meanwhile
    cpu["wrk (load generator)"] = 100 * (own.ru_utime + own.ru_stime - reaped.ru_utime - reaped.ru_stime) / elapsed
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"wrk failed ({wrk.returncode}): {err.strip() or out.strip()}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["cpu"] = cpu
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` (all its threads) and of its child processes that are still alive."""
    total = 0.0
    for one in (pid, *children(pid)):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return total


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = [int(k) for k in task.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        for kid in kids:
            found += [kid, *children(kid)]
    return found


@contextmanager
def cpu_of(processes: Mapping[str, list[int]]) -> Iterator[dict[str, float]]:
    """Fills the yielded dict, on exit, with each named group's CPU use in percent of one core over the block."""
    result: dict[str, float] = {}
    before = {name: sum(cpu_seconds(p) for p in pids) for name, pids in processes.items()}
    started = time.monotonic()
    try:
        yield result
    finally:
        elapsed = time.monotonic() - started
        for name, pids in processes.items():
            used = sum(cpu_seconds(p) for p in pids) - before[name]
            result[name] = 100 * used / elapsed if elapsed > 0 else 0.0


def listening_pid(port: int) -> int | None:
    """The process listening on TCP `port` on this machine (e.g. the broker), read from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(fd_dir.parent.name)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return None


def cpu_line(cpu: Mapping[str, float]) -> str:
    return "   ".join(f"{name} {share:.0f}%" for name, share in cpu.items())
