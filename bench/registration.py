"""Registration benchmark: a public booking spike and listing reads against the real process, as ratios.

Run: .venv/bin/python -m bench.registration [--clients 2000] [--sessions 5] [--seats 100]
     [--concurrency 500] [--reads 1000]
Baselines measured in the same run on the same SecantusDB: the raw conditional-update rate
(`update_one` with a `remaining >= 1` filter, 200 in flight) and the raw find-by-_id rate.
Needs RabbitMQ at AMQP_URL (a throw-away vhost is created) and the SecantusDB install (./scripts/install).
"""

import argparse
import asyncio
import re
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pymongo import AsyncMongoClient

from bench.pipeline import bounded, op_count, pct
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


def phone_client(i: int) -> dict[str, str]:
    """Each simulated phone is its own client of the per-client public rate limit (behind a trusted proxy)."""
    return {"X-Forwarded-For": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"}


async def spike(url: str, clients: int, concurrency: int, session_ids: list[str]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        latencies: list[float] = []

        async def book(i: int) -> int | str:
            body = {"session_id": session_ids[i % len(session_ids)], "name": "访客", "phone": f"139{i:08d}"}
            started = time.perf_counter()
            try:
                reply = await client.post("/api/v1/public/bookings", json=body, headers=phone_client(i))
            except httpx.HTTPError as exc:  # counted, not fatal: a spike may drop connections
                return type(exc).__name__
            latencies.append(time.perf_counter() - started)
            return reply.status_code

        started = time.perf_counter()
        statuses = Counter(await bounded(clients, concurrency, book))
        elapsed = time.perf_counter() - started
        listing = (await client.get("/api/v1/public/opendays")).json()
    remaining = sum(s["remaining"] for o in listing["items"] for s in o["sessions"])
    return {"elapsed": elapsed, "statuses": statuses, "latencies": latencies, "remaining": remaining}


async def reads(url: str, path: str, n: int, concurrency: int, many_clients: bool = True) -> float:
    """GETs of `path` per second (the HTTP client's own cost included), from n distinct clients or from one."""
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        started = time.perf_counter()
        await bounded(n, concurrency, lambda i: client.get(path, headers=phone_client(i) if many_clients else {}))
        return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--reads", type=int, default=1000)
    args = parser.parse_args()
    vhost = RabbitVhost(Settings(service="registration").amqp_url)
    vhost.create()
    db = SecantusServer(":memory:")
    workdir = Path(tempfile.mkdtemp(prefix="bench-registration-"))
    process: ServiceProcess | None = None
    try:
        uri = db.start()
        env = {
            "AMQP_URL": vhost.url,
            "MONGODB_URL": uri,
            "SCIWEEK_TRUSTED_PROXIES": "127.0.0.1",  # the bench is the proxy: each phone its own rate-limit client
            "SCIWEEK_PUBLIC_RATE_LIMIT": "100000/minute",  # high enough that the one-client run is not refused
            "SCIWEEK_PROGRAMME_FILE": str(programme_around_today(workdir)),
            "SCIWEEK_LOG_LEVEL": "WARNING",
        }
        process = ServiceProcess("registration", free_port(), env, workdir / "registration.log")
        process.start()
        process.wait_ready()
        raw_updates = asyncio.run(raw_conditional_updates(uri, 3000))
        raw_reads = asyncio.run(raw_find_by_id(uri, 3000))
        session_ids = asyncio.run(_set_up(process.url, args.sessions, args.seats))
        ops_before = asyncio.run(op_count(uri))
        result = asyncio.run(spike(process.url, args.clients, args.concurrency, session_ids))
        result["ops"] = asyncio.run(op_count(uri)) - ops_before
        path = f"/api/v1/public/opendays?city_code={CITY}"
        listing = asyncio.run(reads(process.url, path, args.reads, 50))
        one_client = asyncio.run(reads(process.url, path, args.reads, 50, many_clients=False))
        bare = asyncio.run(reads(process.url, "/healthz", args.reads, 50))
    finally:
        if process is not None:
            process.stop()
        db.stop()
        vhost.delete()
    report(args, raw_updates, raw_reads, result, (listing, one_client, bare))


async def _set_up(url: str, sessions: int, seats: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await set_up(client, sessions, seats)


def report(
    args: argparse.Namespace,
    raw_updates: float,
    raw_reads: float,
    result: dict[str, Any],
    listing: tuple[float, float, float],
) -> None:
    capacity = args.sessions * args.seats
    rate = args.clients / result["elapsed"]
    booked = result["statuses"].get(201, 0)
    print("\n== baselines (this run, same SecantusDB) ==")
    print(f"conditional update_one (remaining >= 1), 200 in flight  {raw_updates:9.0f} /s")
    print(f"find_one by _id, 50 in flight                           {raw_reads:9.0f} /s")
    print(f"\n== booking spike: {args.clients} clients, {args.sessions} sessions x {args.seats} seats ==")
    print(f"answers                         {dict(result['statuses'])}")
    print(
        f"confirmed / capacity            {booked} / {capacity}   remaining after: {result['remaining']}"
        f"   {'OK' if booked + result['remaining'] == capacity else 'MISMATCH'}"
    )
    print(f"booking requests answered       {rate:9.0f} /s   ({rate / raw_updates:.2f} x raw conditional-update rate)")
    print(f"confirmed bookings              {booked / result['elapsed']:9.0f} /s")
    ops = result["ops"] / args.clients
    print(f"DB operations per request       {ops:9.1f}   (serverStatus opcounters, relay included)")
    print(f"  vs DB ceiling (raw rate / ops) {rate / (raw_updates / ops):8.2f} x")
    p50, p99 = pct(result["latencies"], 0.5) * 1e3, pct(result["latencies"], 0.99) * 1e3
    print(f"latency p50 / p99               {p50:7.0f} / {p99:.0f} ms   (at {args.concurrency} in flight)")
    print("\n== public listing (1 s page cache) ==")
    rate, one_client, bare = listing
    print(f"listing reads                   {rate:9.0f} /s   ({rate / raw_reads:.2f} x raw find-by-_id rate)")
    print(
        f"  same reads from one client     {one_client:8.0f} /s   ({rate / one_client:.2f} x: per-client limits cost)"
    )
    print(f"  GET /healthz of the process    {bare:8.0f} /s   ({one_client / bare:.2f} x: the HTTP stack is the limit)")


if __name__ == "__main__":
    main()
