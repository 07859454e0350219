"""Volunteers benchmark: 1000 commissioners each syncing a 10-operation offline batch at once.

Run: .venv/bin/python -m bench.volunteers [--commissioners 1000] [--connections 64]
Batches are sent by `wrk` (Debian package `wrk`, script bench/lua/sync.lua); CPU is reported per process.
Prints operations/s and the p99 batch latency against the raw SecantusDB write rate measured in the same
run (sequential and 64 in flight), the DB operations each synced operation costs, and the auto-planner's
time for 300 commissioners x 500 villages. Needs RabbitMQ at AMQP_URL and the SecantusDB install.
"""

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.load import cpu_line, run_wrk
from bench.pipeline import bounded, op_count, raw_db_insert_rate
from bench.registration import broker_pid
from sciweek.embedded import SecantusServer, ServiceProcess, free_port
from services.volunteers.domain.planner import propose
from shared.auth import mint_token
from shared.programme import load_programme
from shared.settings import REPO_ROOT, Settings
from shared.testing import RabbitVhost

DATE = "2020-08-24"
CITIES = [c.code for c in load_programme(REPO_ROOT / "config" / "programme.toml").cities]
TOKEN_SETTINGS = Settings(service="reporting")


def bearer(role: Any, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SETTINGS, role=role, **claims)}"}


async def concurrent_insert_rate(uri: str, n: int, in_flight: int) -> float:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    coll = client["bench_raw"]["concurrent"]
    started = time.perf_counter()
    await bounded(n, in_flight, lambda i: coll.insert_one({"_id": str(uuid.uuid4()), "i": i}))
    rate = n / (time.perf_counter() - started)
    await client.close()
    return rate


async def seed(client: httpx.AsyncClient, url: str, people: int) -> dict[str, list[str]]:
    """Commissioners, one village each (two households), two visits per commissioner; their assignment ids."""
    admin = bearer("admin", sub="bench")
    rows = ["id,name,phone,city_code,expertise,available_dates,max_visits_per_day,base_lat,base_lon"]
    rows += [f"c{i:04d},特派员,13800000000,{CITIES[i % 14]},种植,{DATE},4,23.1,108.3" for i in range(people)]
    villages = ["code,name,city_code,lat,lon,needs"] + [
        f"v{i:04d},村,{CITIES[i % 14]},23.1,108.3,种植" for i in range(people)
    ]
    homes = ["id,village_code,head_name"] + [f"v{i:04d}-h{h},v{i:04d},农户" for i in range(people) for h in (1, 2)]
    for kind, lines in (("commissioners", rows), ("villages", villages), ("households", homes)):
        files = {"file": (f"{kind}.csv", "\n".join(lines).encode())}
        (await client.post(f"{url}/api/v1/{kind}/import", files=files, headers=admin)).raise_for_status()
    plan = [
        {
            "commissioner_id": f"c{i:04d}",
            "city_code": CITIES[i % 14],
            "village_code": f"v{i:04d}",
            "visit_date": DATE,
            "household_ids": [f"v{i:04d}-h1", f"v{i:04d}-h2"],
        }
        for i in range(people)
        for _ in range(2)
    ]
    ids: dict[str, list[str]] = {}
    for start in range(0, len(plan), 200):
        body = {"assignments": plan[start : start + 200]}
        response = await client.post(f"{url}/api/v1/plans/commit", json=body, headers=admin)
        response.raise_for_status()
        for a in response.json()["created"]:
            ids.setdefault(a["commissioner_id"], []).append(a["id"])
    return ids


def batch(assignment_ids: list[str]) -> list[dict[str, Any]]:
    """Ten operations: accept, check in, check out, report and one report edit for each of two visits."""
    now = datetime.now(UTC).isoformat()
    here = {"lat": 23.1, "lon": 108.3, "accuracy_m": 12}
    report = {"households_reached": [], "consultations": 2, "people_trained": 9, "books_handed_out": 5}
    ops = []
    for aid in assignment_ids:
        for kind, payload in (
            ("accept", {}),
            ("check_in", here),
            ("check_out", here),
            ("report", report),
            ("edit_report", {"base_version": 1, "report": {**report, "consultations": 3}}),
        ):
            ops.append(
                {"op_id": str(uuid.uuid4()), "type": kind, "assignment_id": aid, "device_time": now, "payload": payload}
            )
    return ops


def sync_storm(
    url: str, ids: dict[str, list[str]], connections: int, uri: str, watch: dict[str, list[int]], scratch: Path
) -> dict[str, Any]:
    """Every commissioner's batch sent once through wrk at `connections` at a time; each op must be applied."""
    requests = scratch / "sync-requests.tsv"
    with requests.open("w", encoding="utf-8") as out:
        for who, aids in ids.items():
            token = mint_token(TOKEN_SETTINGS, role="volunteer", sub=who)
            out.write(f"{token}\t{json.dumps({'operations': batch(aids)}, ensure_ascii=False)}\n")
    before = asyncio.run(op_count(uri))
    result = run_wrk(url, "sync.lua", connections=connections, args=[str(requests)], watch=watch, timeout_s=300)
    db_ops = asyncio.run(op_count(uri)) - before
    operations = 10 * len(ids)
    return {
        "operations": operations,
        "applied": result["applied"],  # a batch answered 503 (with Retry-After) is the phone's to send again
        "statuses": result["statuses"],
        "ops_per_s": result["applied"] / result["span_s"],
        "elapsed": result["span_s"],
        "p50": result["latency_ms"]["p50"] / 1e3,
        "p99": result["latency_ms"]["p99"] / 1e3,
        "db_ops_per_op": db_ops / operations,
        "dropped": result["sent"] - result["answered"],
        "cpu": result["cpu"],
    }


def planner_seconds(people: int, places: int) -> tuple[float, int]:
    rng = random.Random(7)
    skills = ["种植", "养殖", "农机", "电商", "医疗卫生", "加工"]
    commissioners = [
        {
            "_id": f"c{i}",
            "expertise": rng.sample(skills, 2),
            "available_dates": ["d1", "d2", "d3"],
            "max_visits_per_day": 2,
            "base_lat": 22 + rng.random() * 3,
            "base_lon": 106 + rng.random() * 4,
        }
        for i in range(people)
    ]
    villages = [
        {"_id": f"v{i}", "lat": 22 + rng.random() * 3, "lon": 106 + rng.random() * 4, "needs": rng.sample(skills, 2)}
        for i in range(places)
    ]
    households = {
        v["_id"]: [{"_id": f"{v['_id']}-h{h}", "needs": rng.sample(skills, 1)} for h in range(5)] for v in villages
    }
    started = time.perf_counter()
    chosen = propose(commissioners, villages, households, {}, {}, 1000)
    return time.perf_counter() - started, len(chosen)


def run(args: argparse.Namespace, uri: str, url: str, watch: dict[str, list[int]], scratch: Path) -> dict[str, Any]:
    raw_sequential = asyncio.run(raw_db_insert_rate(uri, 2000))
    raw_concurrent = asyncio.run(concurrent_insert_rate(uri, 4000, 64))

    async def prepare() -> dict[str, list[str]]:
        async with httpx.AsyncClient(timeout=600) as client:
            return await seed(client, url, args.commissioners)

    storm = sync_storm(url, asyncio.run(prepare()), args.connections, uri, watch, scratch)
    return {"raw_sequential": raw_sequential, "raw_concurrent": raw_concurrent, **storm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commissioners", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    vhost = RabbitVhost(TOKEN_SETTINGS.amqp_url)
    vhost.create()
    logs = Path(tempfile.mkdtemp(prefix="bench-volunteers-"))
    db = SecantusServer(":memory:", logs / "secantus.log")
    service: ServiceProcess | None = None
    try:
        uri = db.start()
        env = {
            "AMQP_URL": vhost.url,
            "MONGODB_URL": uri,
            "SCIWEEK_NAMESPACE": namespace,
            "SCIWEEK_LOG_LEVEL": "WARNING",
            "SCIWEEK_VOLUNTEERS_MISSED_CHECK_S": "0",
        }
        service = ServiceProcess("volunteers", free_port(), env, logs / "volunteers.log")
        service.start()
        service.wait_ready()
        assert db.process is not None and service.process is not None
        watch = {"volunteers": [service.process.pid], "SecantusDB": [db.process.pid], "RabbitMQ": broker_pid()}
        figures = run(args, uri, service.url, watch, logs)
    finally:
        if service is not None:
            service.stop()
        db.stop()
        vhost.delete()
    plan_s, planned = planner_seconds(300, 500)
    ops = figures["ops_per_s"]
    print("\n== raw limits (this run) ==")
    print(f"SecantusDB insert_one, sequential        {figures['raw_sequential']:9.0f} /s")
    print(f"SecantusDB insert_one, 64 in flight      {figures['raw_concurrent']:9.0f} /s")
    print(f"\n== {args.commissioners} commissioners x 10-operation sync batch, all at once ==")
    print(f"answers (batches)                        {figures['statuses']}")
    print(f"operations applied                       {figures['applied']:9d} of {figures['operations']}")
    print(f"operations applied                       {ops:9.0f} /s   ({figures['elapsed']:.1f} s in all)")
    print(f"  vs raw insert_one sequential           {ops / figures['raw_sequential']:9.2f} x")
    print(f"  vs raw insert_one 64 in flight         {ops / figures['raw_concurrent']:9.2f} x")
    print(f"DB operations per synced operation       {figures['db_ops_per_op']:9.1f}  (serverStatus opcounters)")
    ceiling = figures["raw_concurrent"] / figures["db_ops_per_op"]
    print(f"  vs DB ceiling (64-in-flight rate / ops){ops / ceiling:9.2f} x")
    print(f"dropped (sent, never answered)           {figures['dropped']:9d}")
    print(f"batch latency p50 / p99                  {figures['p50'] * 1e3:7.0f} / {figures['p99'] * 1e3:.0f} ms")
    print(f"  p99 vs one raw insert (sequential)     {figures['p99'] * figures['raw_sequential']:9.0f} x")
    print(f"CPU (% of one core)                      {cpu_line(figures['cpu'])}")
    print(f"\nauto-planner, 300 commissioners x 500 villages: {plan_s:.2f} s for {planned} proposals")


if __name__ == "__main__":
    main()
