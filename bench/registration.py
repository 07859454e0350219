"""Registration benchmark: the public booking spike and listing reads against the real process, as ratios.

Run: .venv/bin/python -m bench.registration [--attempts 4000] [--connections 1000] [--sessions 5] [--seats 80]
     [--replicas 1,2] [--reads 4000]
HTTP is driven by `wrk` (Debian package `wrk`) with the Lua scripts in bench/lua/. Baselines measured in the same
run on the same SecantusDB: the raw conditional-update rate (`update_one` with a `remaining >= 1` filter, 200 in
flight) and the raw find-by-_id rate. The spike runs once per replica count (`SCIWEEK_WORKERS` processes of the
service on one socket), each on fresh sessions; CPU is reported per process (service, SecantusDB, the broker,
wrk). Needs RabbitMQ at AMQP_URL (a throw-away vhost is created) and the SecantusDB install (./scripts/install).
"""

import argparse
import asyncio
import os
import re
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from pymongo import AsyncMongoClient

from bench.load import cpu_line, cpu_of, listening_pid, run_wrk
from bench.pipeline import bounded, op_count
from sciweek.embedded import SecantusServer, ServiceProcess, free_port
from shared.auth import mint_token
from shared.settings import REPO_ROOT, Settings
from shared.testing import RabbitVhost

CITY = "450100"
TZ = ZoneInfo("Asia/Shanghai")


def programme_around_today(directory: Path) -> Path:
    """The reference programme moved to run from today, so booking windows are open now."""
    today = datetime.now(TZ).date()
    text = (REPO_ROOT / "config" / "programme.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^start = .*$", f"start = {today}", text, count=1)
    text = re.sub(r"(?m)^end = .*$", f"end = {today + timedelta(days=6)}", text, count=1)
    path = directory / "programme.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def raw_conditional_updates(uri: str, n: int, in_flight: int = 200) -> float:
    """Seat-taking without the service: n conditional decrements of one counter document."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    seats = client["bench_raw"]["seats"]
    await seats.insert_one({"_id": "s", "remaining": n})
    started = time.perf_counter()
    await bounded(
        n, in_flight, lambda i: seats.update_one({"_id": "s", "remaining": {"$gte": 1}}, {"$inc": {"remaining": -1}})
    )
    rate = n / (time.perf_counter() - started)
    await client.close()
    return rate


async def raw_find_by_id(uri: str, n: int, in_flight: int = 50) -> float:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    docs = client["bench_raw"]["docs"]
    await docs.insert_one({"_id": "d", "sessions": [{"remaining": 1}] * 5})
    started = time.perf_counter()
    await bounded(n, in_flight, lambda i: docs.find_one({"_id": "d"}))
    rate = n / (time.perf_counter() - started)
    await client.close()
    return rate


async def set_up(client: httpx.AsyncClient, sessions: int, seats: int) -> list[str]:
    settings = Settings(service="registration")
    operator = {"Authorization": f"Bearer {mint_token(settings, role='venue', sub='bench-op')}"}
    city = {"Authorization": f"Bearer {mint_token(settings, role='city', sub='bench-city', city=CITY)}"}
    venue = {"name": "广西科技馆", "org_type": "science_museum", "city_code": CITY}
    venue_id = (await client.post("/api/v1/venues", json=venue, headers=operator)).json()["id"]
    (await client.post(f"/api/v1/venues/{venue_id}/approve", headers=city)).raise_for_status()
    day = datetime.now(TZ).date() + timedelta(days=1)
    body = {
        "date": day.isoformat(),
        "sessions": [
            {"start": f"{8 + i:02d}:00", "end": f"{8 + i:02d}:50", "capacity": seats} for i in range(sessions)
        ],
        "booking_closes_at": (datetime.now(TZ) + timedelta(days=1)).isoformat(),
    }
    created = await client.post(f"/api/v1/venues/{venue_id}/opendays", json=body, headers=operator)
    created.raise_for_status()
    published = await client.post(f"/api/v1/opendays/{created.json()['id']}/publish", headers=operator)
    return [s["session_id"] for s in published.json()["sessions"]]


def spike(
    url: str, attempts: int, connections: int, session_ids: list[str], watch: dict[str, list[int]]
) -> dict[str, Any]:
    """`attempts` bookings from `connections` clients at once (each a new phone and Idempotency-Key), via wrk."""
    return run_wrk(
        url,
        "spike.lua",
        connections=connections,
        args=[str(attempts), uuid.uuid4().hex[:8], *session_ids],  # keys of another run must not replay
        watch=watch,
        timeout_s=60,
    )


async def seats_left(uri: str, session_ids: list[str]) -> tuple[int, int]:
    """(remaining seats, confirmed bookings) of the sessions, read from the service's database."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    db = client["sciweek_registration"]
    remaining = sum([s["remaining"] async for s in db["seats"].find({"_id": {"$in": session_ids}})])
    confirmed = await db["bookings"].count_documents({"session_id": {"$in": session_ids}, "status": "confirmed"})
    await client.close()
    return remaining, confirmed


def broker_pid() -> list[int]:
    pid = listening_pid(urlsplit(Settings(service="registration").amqp_url).port or 5672)
    return [pid] if pid else []


def run_spikes(args: argparse.Namespace, uri: str, db_pid: int, env: dict[str, str], workdir: Path) -> list[Any]:
    """The spike once per replica count, each on a freshly started service and fresh sessions."""
    results = []
    for replicas in args.replicas:
        process = ServiceProcess(
            "registration", free_port(), {**env, "SCIWEEK_WORKERS": str(replicas)}, workdir / "registration.log"
        )
        try:
            process.start()
            process.wait_ready()
            session_ids = asyncio.run(_set_up(process.url, args.sessions, args.seats))
            assert process.process is not None
            watch = {
                f"registration x{replicas}": [process.process.pid],
                "SecantusDB": [db_pid],
                "RabbitMQ": broker_pid(),
            }
            ops_before = asyncio.run(op_count(uri))
            result = spike(process.url, args.attempts, args.connections, session_ids, watch)
            result["ops"] = asyncio.run(op_count(uri)) - ops_before
            result["remaining"], result["confirmed_in_db"] = asyncio.run(seats_left(uri, session_ids))
            result["replicas"] = replicas
            if replicas == args.replicas[0]:
                path = f"/api/v1/public/opendays?city_code={CITY}"
                result["reads"] = [
                    run_wrk(process.url, "gets.lua", connections=50, args=[str(args.reads), path, "many"]),
                    run_wrk(process.url, "gets.lua", connections=50, args=[str(args.reads), path, "one"]),
                    run_wrk(process.url, "gets.lua", connections=50, args=[str(args.reads), "/healthz", "one"]),
                ]
            results.append(result)
        finally:
            process.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--seats", type=int, default=80)
    parser.add_argument("--replicas", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2])
    parser.add_argument("--reads", type=int, default=4000)
    args = parser.parse_args()
    vhost = RabbitVhost(Settings(service="registration").amqp_url)
    vhost.create()
    db = SecantusServer(":memory:")
    workdir = Path(tempfile.mkdtemp(prefix="bench-registration-"))
    try:
        uri = db.start()
        assert db.process is not None
        env = {
            "AMQP_URL": vhost.url,
            "MONGODB_URL": uri,
            "SCIWEEK_TRUSTED_PROXIES": "127.0.0.1",  # the bench is the proxy: each phone its own rate-limit client
            "SCIWEEK_PUBLIC_RATE_LIMIT": "100000/minute",  # high enough that the one-client run is not refused
            "SCIWEEK_PROGRAMME_FILE": str(programme_around_today(workdir)),
            "SCIWEEK_LOG_LEVEL": "WARNING",
        }
        with cpu_of({"SecantusDB": [db.process.pid], "bench client (pymongo)": [os.getpid()]}) as raw_cpu:
            raw_updates = asyncio.run(raw_conditional_updates(uri, 3000))
        raw_reads = asyncio.run(raw_find_by_id(uri, 3000))
        spikes = run_spikes(args, uri, db.process.pid, env, workdir)
    finally:
        db.stop()
        vhost.delete()
    report(args, (raw_updates, raw_reads), raw_cpu, spikes)


async def _set_up(url: str, sessions: int, seats: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await set_up(client, sessions, seats)


def dropped(result: dict[str, Any]) -> int:
    """Requests sent and never answered (wrk's socket error counts also include idle keep-alive closes)."""
    return int(result["sent"]) - int(result["answered"])


def report(
    args: argparse.Namespace, raw: tuple[float, float], raw_cpu: dict[str, float], spikes: list[dict[str, Any]]
) -> None:
    raw_updates, raw_reads = raw
    capacity = args.sessions * args.seats
    print("\n== baselines (this run, same SecantusDB) ==")
    print(f"conditional update_one (remaining >= 1), 200 in flight  {raw_updates:9.0f} /s   CPU: {cpu_line(raw_cpu)}")
    print(f"find_one by _id, 50 in flight                           {raw_reads:9.0f} /s")
    for result in spikes:
        replicas = result["replicas"]
        rate = result["answered"] / result["span_s"]
        booked = result["statuses"].get("201", 0)
        print(
            f"\n== booking spike, {replicas} replica(s): {args.attempts} attempts from {args.connections} connections, "
            f"{args.sessions} sessions x {args.seats} seats =="
        )
        print(
            f"answers                         {result['statuses']}   (503/429 without Retry-After: "
            f"{result['no_retry_after']})"
        )
        # seats still held by a request that failed are returned by the reclaim job: taken = confirmed + held
        oversold = result["confirmed_in_db"] > capacity - result["remaining"] or result["remaining"] < 0
        print(
            f"confirmed / capacity            {booked} / {capacity}   remaining after: {result['remaining']}   "
            f"confirmed in the database: {result['confirmed_in_db']}   {'OVERSOLD' if oversold else 'no oversell'}"
        )
        print(f"refusals by code                {result['codes']}")
        print(f"dropped (sent, never answered)  {dropped(result):9d}   wrk socket errors: {result['errors']}")
        print(
            f"booking requests answered       {rate:9.0f} /s   ({rate / raw_updates:.2f} x raw conditional-update rate)"
        )
        if replicas != spikes[0]["replicas"]:
            first = spikes[0]["answered"] / spikes[0]["span_s"]
            print(f"  vs {spikes[0]['replicas']} replica(s)                 {rate / first:9.2f} x")
        ops = result["ops"] / max(1, result["answered"])
        print(f"DB operations per request       {ops:9.1f}   (serverStatus opcounters, relay included)")
        print(
            f"latency p50 / p99 / max         {result['latency_ms']['p50']:7.0f} / {result['latency_ms']['p99']:.0f} "
            f"/ {result['latency_ms']['max']:.0f} ms"
        )
        print(f"CPU (% of one core)             {cpu_line(result['cpu'])}")
        if "reads" in result:
            many, one, bare = (r["answered"] / r["span_s"] for r in result["reads"])
            print("\n== public listing (1 s page cache), 50 connections ==")
            print(f"listing reads                   {many:9.0f} /s   ({many / raw_reads:.2f} x raw find-by-_id rate)")
            print(f"  same reads from one client     {one:8.0f} /s   ({many / one:.2f} x: per-client limits cost)")
            print(
                f"  GET /healthz of the process    {bare:8.0f} /s   ({one / bare:.2f} x: the HTTP stack is the limit)"
            )


if __name__ == "__main__":
    main()
