"""What durable acknowledgements cost: the pipeline, booking-spike and sync workloads, fast vs durable, one run.

- fast: SecantusDB on disk without `--sync-on-commit`, clients at write concern w:1, j:false (before).
- durable: `--sync-on-commit` and w:"majority", j:true: the default of `sciweek up` and of every service.

Each workload runs in both modes on a fresh on-disk SecantusDB, alternating fast/durable per round, and
prints durable ÷ fast. Run: .venv/bin/python -m bench.durability [--rounds 2] [--visits 200]
[--clients 1000] [--commissioners 300]. Needs RabbitMQ at AMQP_URL and the SecantusDB install.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.pipeline import end_to_end
from bench.registration import programme_around_today, set_up, spike
from bench.volunteers import seed, sync_storm
from sciweek.embedded import SecantusServer, ServiceProcess, Stack, free_port
from shared.settings import SERVICES, Settings
from shared.testing import RabbitVhost

MODES: dict[str, tuple[bool, dict[str, str]]] = {
    "fast": (False, {"SCIWEEK_MONGODB_W": "1", "SCIWEEK_MONGODB_JOURNAL": "false"}),
    "durable": (True, {"SCIWEEK_MONGODB_W": "majority", "SCIWEEK_MONGODB_JOURNAL": "true"}),
}


async def commit_rate(uri: str, env: dict[str, str], n: int = 1000) -> float:
    """Sequential two-document transactions per second at the mode's write concern."""
    w: int | str = "majority" if env["SCIWEEK_MONGODB_W"] == "majority" else 1
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, w=w, journal=env["SCIWEEK_MONGODB_JOURNAL"] == "true"
    )
    db = client["bench_raw"]
    started = time.perf_counter()
    for _ in range(n):
        async with client.start_session() as session:

            async def write(s: Any) -> None:
                key = str(uuid.uuid4())
                await db["state"].insert_one({"_id": key}, session=s)
                await db["outbox"].insert_one({"_id": key}, session=s)

            await session.with_transaction(write)
    rate = n / (time.perf_counter() - started)
    await client.close()
    return rate


def pipeline(mode: str, vhost: RabbitVhost, scratch: Path, args: argparse.Namespace) -> dict[str, float]:
    durable, env = MODES[mode]
    stack = Stack(
        vhost.url,
        scratch / "data",
        ports={name: free_port() for name in SERVICES},
        extra_env={
            **env,
            "SCIWEEK_LOG_LEVEL": "WARNING",
            "SCIWEEK_NAMESPACE": f"bench{uuid.uuid4().hex[:8]}",
            "SCIWEEK_PUBLIC_RATE_LIMIT": "1000000/minute",  # the flow polls the public progress
        },
        durable=durable,
    )
    try:
        stack.start()
        flow = asyncio.run(end_to_end(stack, args.visits, 50))
        flow["commits"] = asyncio.run(commit_rate(stack.db.uri, env))
        return flow
    finally:
        stack.stop()


def one_service(
    mode: str, name: str, vhost: RabbitVhost, scratch: Path, extra: dict[str, str], work: Callable[[str, str], Any]
) -> Any:
    """`work(service url, db uri)` against one service process on a fresh on-disk SecantusDB in `mode`."""
    durable, env = MODES[mode]
    db = SecantusServer(scratch / "data", scratch / "secantus.log", durable=durable)
    process: ServiceProcess | None = None
    try:
        uri = db.start()
        namespace = f"bench{uuid.uuid4().hex[:8]}"
        full_env = {**env, **extra, "AMQP_URL": vhost.url, "MONGODB_URL": uri, "SCIWEEK_NAMESPACE": namespace}
        process = ServiceProcess(name, free_port(), {**full_env, "SCIWEEK_LOG_LEVEL": "WARNING"}, scratch / "svc.log")
        process.start()
        process.wait_ready()
        return work(process.url, uri)
    finally:
        if process is not None:
            process.stop()
        db.stop()


def booking(mode: str, vhost: RabbitVhost, scratch: Path, args: argparse.Namespace) -> dict[str, float]:
    extra = {
        "SCIWEEK_TRUSTED_PROXIES": "127.0.0.1",  # the bench is the proxy: each phone its own rate-limit client
        "SCIWEEK_PUBLIC_RATE_LIMIT": "100000/minute",
        "SCIWEEK_PROGRAMME_FILE": str(programme_around_today(scratch)),
    }

    def work(url: str, uri: str) -> dict[str, float]:
        async def prepare() -> list[str]:
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                return await set_up(client, 5, args.clients // 10)

        result = spike(url, args.clients, 200, asyncio.run(prepare()), {})
        return {"rate": result["answered"] / result["span_s"], "booked": float(result["statuses"].get("201", 0))}

    return dict(one_service(mode, "registration", vhost, scratch, extra, work))


def sync(mode: str, vhost: RabbitVhost, scratch: Path, args: argparse.Namespace) -> dict[str, float]:
    def work(url: str, uri: str) -> dict[str, float]:
        async def prepare() -> dict[str, list[str]]:
            async with httpx.AsyncClient(timeout=600) as client:
                return await seed(client, url, args.commissioners)

        return dict(sync_storm(url, asyncio.run(prepare()), 64, uri, {}, scratch))

    return dict(one_service(mode, "volunteers", vhost, scratch, {"SCIWEEK_VOLUNTEERS_MISSED_CHECK_S": "0"}, work))


WORKLOADS = {"pipeline": pipeline, "booking": booking, "sync": sync}
FIGURES = {
    "pipeline": [("commits", "two-document transactions, sequential /s"), ("rate", "completed visits, end to end /s")],
    "booking": [("rate", "booking requests answered /s")],
    "sync": [("ops_per_s", "synced phone operations /s"), ("p99", "sync batch latency p99 s")],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--visits", type=int, default=200)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--commissioners", type=int, default=300)
    args = parser.parse_args()
    vhost = RabbitVhost(Settings(service="reporting").amqp_url)
    vhost.create()
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        for round_ in range(args.rounds):
            order = ["fast", "durable"] if round_ % 2 == 0 else ["durable", "fast"]
            for workload, run in WORKLOADS.items():
                for mode in order:
                    with tempfile.TemporaryDirectory(prefix=f"bench-durability-{workload}-") as scratch:
                        figures = run(mode, vhost, Path(scratch), args)
                    results.setdefault((workload, mode), []).append(figures)
                    print(f"round {round_ + 1} {workload:8s} {mode:7s} {figures}", flush=True)
    finally:
        vhost.delete()
    print("\n== durable ÷ fast (medians over rounds; same machine, same run) ==")
    for workload, figures in FIGURES.items():
        for key, label in figures:
            fast = statistics.median(r[key] for r in results[(workload, "fast")])
            durable = statistics.median(r[key] for r in results[(workload, "durable")])
            print(f"{workload:8s} {label:42s} fast {fast:9.3f}  durable {durable:9.3f}  = {durable / fast:5.2f} x")


if __name__ == "__main__":
    main()
