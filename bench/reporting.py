"""Reporting benchmark: dashboard latency at 10k vs 1M stored events (O(1) reads), replay vs consume rates.

Run: .venv/bin/python -m bench.reporting [--small 10000] [--large 100000] [--live 3000] [--samples 300]
(--large 1000000 gives the 1M figure; writing a million events into SecantusDB takes minutes.)
Needs RabbitMQ at AMQP_URL (a throw-away vhost is created) and the SecantusDB install (./scripts/install).
SecantusDB stores its data in a temporary directory on disk (deleted at the end), as production's mongod
does, not ":memory:": in memory every document, index entry and oplog row must fit in the 1 GB WiredTiger
cache, and past it each write fails with WT_CACHE_FULL, answered as `InternalError` (code 1).
The stored events beyond the live ones are synthetic but contract-valid, written straight into the
inbox (the event log) with the projections they produce, as if they had been consumed.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from pymongo.errors import BulkWriteError, OperationFailure

from bench.pipeline import bounded, op_count, pct
from sciweek.embedded import SecantusServer
from services.reporting import store
from services.reporting.domain.projection import PROVINCE, Fact, State, merge_into, totals_of
from services.reporting.main import create_app
from services.reporting.service import replay
from shared.app import Runtime
from shared.auth import mint_token
from shared.envelope import Envelope
from shared.idempotency import INBOX
from shared.mongo import Document
from shared.settings import Settings
from shared.testing import RabbitVhost, eventually, make_settings, running_service

CITIES = [f"4{n:02d}00".replace("4", "45", 1) for n in range(1, 15)]  # 450100 … 451400
START = datetime(2020, 8, 23, 2, tzinfo=UTC)
CHUNK = 5_000
QUANTILES = (("p50", 0.5), ("p99", 0.99))
Timings = dict[str, float]


def synthetic(i: int) -> tuple[str, dict[str, Any]]:
    """Event i of a week: assignments created and completed, bookings confirmed and checked in."""
    city, day = CITIES[i % 14], (START + timedelta(days=i % 7)).date().isoformat()
    n, kind = divmod(i, 4)
    where = {"city_code": city, "date": day}
    if kind == 0:
        data = {"assignment_id": f"a{n}", "commissioner_id": "c", "village_code": "v", "visit_date": day}
        return "volunteers.assignment.created.v1", {**data, "city_code": city, "household_ids": []}
    if kind == 1:
        counts = {"households_reached": 2, "consultations": 1, "trainees": 3, "books": 4, "report_version": 1}
        data = {"assignment_id": f"a{n}", "commissioner_id": "c", "village_code": "v", "visit_date": day}
        return "volunteers.visit.completed.v1", {**data, **counts, "city_code": city, "completed_at": START.isoformat()}
    booking = {"booking_id": f"b{n}", "venue_id": "v1", "party_size": 2, **where}
    if kind == 2:
        extra = {"openday_id": "o1", "session_id": "s1", "price_policy": "free"}
        return "registration.booking.confirmed.v1", {**booking, **extra}
    return "registration.visitor.checked_in.v1", {**booking, "checked_in_at": START.isoformat(), "offline": False}


def inbox_record(i: int) -> tuple[Document, Fact]:
    event_type, data = synthetic(i)
    at = START + timedelta(microseconds=i)
    source = f"sciweek/{event_type.split('.')[0]}"
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": f"e{i}",
        "type": event_type,
        "source": source,
        "time": at.isoformat(),
    }
    envelope |= {"subject": None, "correlation_id": f"e{i}", "causation_id": None, "data": data}
    key = f"{source}/e{i}"
    doc = {"_id": key, "type": event_type, "time": at, "received_at": at, "event": envelope}
    return doc, Fact(event_type, data, at.isoformat(), key)


async def store_events(rt: Runtime, states: dict[str, State], first: int, last: int) -> None:
    """Write events [first, last) into the log and fold them into `states` (projections written by `settle`)."""
    for start in range(first, last, CHUNK):
        pairs = [inbox_record(i) for i in range(start, min(last, start + CHUNK))]
        await insert_all(rt, INBOX, [doc for doc, _ in pairs])
        for _, fact in pairs:
            merge_into(states, fact)


async def insert_all(rt: Runtime, name: str, docs: list[Document]) -> None:
    """insert_many in chunks, retried: SecantusDB answered a rare "internal server error" under bulk load here."""
    for start in range(0, len(docs), CHUNK):
        chunk = docs[start : start + CHUNK]
        for attempt in range(5):
            try:
                await rt.db[name].insert_many(chunk, ordered=False)
                break
            except BulkWriteError as exc:  # a retry of a chunk that partly went in
                if any(e["code"] != 11000 for e in exc.details["writeErrors"]):
                    raise
                break
            except OperationFailure:
                if attempt == 4:
                    raise
                await asyncio.sleep(2)


async def settle(rt: Runtime, states: dict[str, State], events: int) -> None:
    """Replace the projections with those of `states`, plus what the live consumer applied."""
    live = {d["_id"]: d["state"] for name in store.ENTITY_COLLECTIONS async for d in rt.db[name].find({})}
    merged = {**states, **live}
    totals = totals_of(merged.values())
    totals[PROVINCE][store.EVENTS] = events
    written = {
        name: [store.entity_document(k, s) for k, s in merged.items() if store.collection_of(k) == name]
        for name in store.ENTITY_COLLECTIONS
    }
    written[store.COUNTERS] = [{"_id": scope, **store.nested(m)} for scope, m in totals.items()]
    for name, docs in written.items():
        await rt.db[name].drop()
        await insert_all(rt, name, docs)
    await store.ensure_indexes(rt.db)


async def latency(rt: Runtime, client: httpx.AsyncClient, url: str, headers: dict[str, str], samples: int) -> Timings:
    """p50/p99 of `url`, and of the baseline (one find by _id in a tiny collection of the same database)
    measured interleaved with it, so that whatever the server is doing meanwhile weighs on both alike."""
    for _ in range(20):  # warm-up
        (await client.get(url, headers=headers)).raise_for_status()
    timings: dict[str, list[float]] = {"": [], "raw_": []}
    for _ in range(samples):
        started = time.perf_counter()
        await rt.db[store.COUNTERS].find_one({"_id": PROVINCE})
        timings["raw_"].append(time.perf_counter() - started)
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        timings[""].append(time.perf_counter() - started)
        response.raise_for_status()
    return {f"{kind}{q}": pct(values, share) for kind, values in timings.items() for q, share in QUANTILES}


async def read_latencies(
    rt: Runtime, client: httpx.AsyncClient, headers: dict[str, str], samples: int, size: str, uri: str
) -> dict[str, float]:
    await rt.db.client.admin.command("fsync")  # the checkpoint the bulk writes started, done before measuring
    out: dict[str, float] = {}
    for name, url in (("dashboard", "/api/v1/dashboard"), ("progress", "/api/v1/progress")):
        for key, value in (await latency(rt, client, url, headers, samples)).items():
            out[f"{name}_{size}_{key}"] = value
        before = await op_count(uri)
        for _ in range(50):
            (await client.get(url, headers=headers)).raise_for_status()
        out[f"{name}_{size}_ops"] = (await op_count(uri) - before) / 50  # includes the background jobs' few
    return out


async def raw_consume_rate(amqp_url: str, n: int) -> float:
    """The broker alone: persistent messages consumed and acked, prefetch 200, no processing."""
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    queue = await channel.declare_queue("bench.raw", durable=True, arguments={"x-queue-type": "quorum"})
    body = b"x" * 500
    await bounded(
        n, 200, lambda i: channel.default_exchange.publish(aio_pika.Message(body, delivery_mode=2), "bench.raw")
    )
    await channel.set_qos(prefetch_count=200)
    done, seen = asyncio.Event(), 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal seen
        await message.ack()
        seen += 1
        if seen == n:
            done.set()

    started = time.perf_counter()
    await queue.consume(on_message)
    await asyncio.wait_for(done.wait(), 300)
    rate = n / (time.perf_counter() - started)
    await connection.close()
    return rate


async def live_consume_rate(rt: Runtime, n: int) -> float:
    """The reporting consumer: events published to the exchange, applied to the projections, acked."""
    events = []
    for i in range(n):
        doc, _ = inbox_record(10_000_000 + i)  # ids apart from the synthetic log
        events.append(Envelope.model_validate(doc["event"]))
    await bounded(n, 200, lambda i: rt.broker.publish(events[i]))
    started = time.perf_counter()

    async def applied() -> bool:  # the events counter: count_documents scans the collection here
        return await store.feed_version(rt.db) >= n

    await eventually(applied, timeout_s=600, interval_s=0.1)
    return n / (time.perf_counter() - started)


async def replay_rate(rt: Runtime, events: int) -> float:
    """Events per second of `sciweek rebuild reporting` (replay into fresh collections, then compare)."""
    started = time.perf_counter()
    rebuilt = await replay.rebuild(rt.db)
    assert rebuilt.events == events, rebuilt.events
    return rebuilt.events / (time.perf_counter() - started)


async def run(args: argparse.Namespace, mongodb_url: str, amqp_url: str) -> dict[str, float]:
    settings = make_settings(
        "reporting",
        mongodb_url=mongodb_url,
        amqp_url=amqp_url,
        namespace="bench",
        public_rate_limit="1000000/minute",  # the public /api/v1/progress is read hundreds of times
    )
    admin = {"Authorization": f"Bearer {mint_token(settings, role='admin', sub='bench')}"}
    out: dict[str, float] = {"raw_consume": await raw_consume_rate(amqp_url, args.live)}
    async with running_service(create_app(settings)) as (rt, client):
        out["live_consume"] = await live_consume_rate(rt, args.live)  # the publish time is not counted
        states: dict[str, State] = {}
        await store_events(rt, states, 0, args.small - args.live)
        out["replay_small"] = await replay_rate(rt, args.small)
        await settle(rt, states, args.small)
        out |= await read_latencies(rt, client, admin, args.samples, "small", mongodb_url)
        await store_events(rt, states, args.small - args.live, args.large - args.live)
        out["replay_large"] = await replay_rate(rt, args.large)
        await settle(rt, states, args.large)
        out["stored_large"] = await rt.db[INBOX].estimated_document_count()
        out |= await read_latencies(rt, client, admin, args.samples, "large", mongodb_url)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000, help="1000000 for the issue's figure (~10+ min)")
    parser.add_argument("--live", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    vhost = RabbitVhost(Settings(service="reporting").amqp_url)
    vhost.create()
    with tempfile.TemporaryDirectory(prefix="sciweek-bench-reporting-") as scratch:
        db = SecantusServer(Path(scratch) / "data", log_path=Path(scratch) / "secantus.log")
        try:
            r = asyncio.run(run(args, db.start(), vhost.url))
        except BaseException:
            log = Path(scratch) / "secantus.log"
            if log.exists():  # the server's traceback behind an "internal server error"
                print(f"--- SecantusDB log (tail) ---\n{log.read_text(errors='replace')[-8000:]}", file=sys.stderr)
            raise
        finally:
            db.stop(timeout_s=120)  # a clean shutdown checkpoints the data written
            vhost.delete()
    print("\n== baselines (this run) ==")
    print(f"RabbitMQ consume+ack, prefetch 200, no work   {r['raw_consume']:9.0f} msg/s")
    print(f"reporting consumer: apply + inbox + ack       {r['live_consume']:9.0f} events/s")
    print("\n== replay of the stored event log ==")
    for size, events in (("small", args.small), ("large", args.large)):
        rate = r[f"replay_{size}"]
        print(f"rebuild from {events:>9} stored events      {rate:9.0f} events/s")
        print(f"  vs raw broker consume rate                  {rate / r['raw_consume']:9.2f} x")
        print(f"  vs live consume rate                        {rate / r['live_consume']:9.2f} x")
    print("\n== dashboard reads (in-process ASGI client, sequential; baseline interleaved) ==")
    for name in ("dashboard", "progress"):
        for size, events in (("small", args.small), ("large", int(r["stored_large"]))):
            p50, p99 = r[f"{name}_{size}_p50"] * 1e3, r[f"{name}_{size}_p99"] * 1e3
            b50, b99 = r[f"{name}_{size}_raw_p50"] * 1e3, r[f"{name}_{size}_raw_p99"] * 1e3
            print(f"{name:<10} p50 / p99 at {events:>9} events   {p50:7.2f} / {p99:6.2f} ms", end="")
            print(f"   (baseline find_one {b50:.2f} / {b99:.2f} ms)")
        ops = (r[f"{name}_small_ops"], r[f"{name}_large_ops"])
        print(f"{name:<10} DB operations per read, small / large  {ops[0]:5.1f} / {ops[1]:.1f}")
        for q in ("p50", "p99"):
            ratio = r[f"{name}_large_{q}"] / r[f"{name}_small_{q}"]
            base = r[f"{name}_large_raw_{q}"] / r[f"{name}_small_raw_{q}"]
            print(f"  {q} large / small {ratio:6.2f} x; the baseline's {base:5.2f} x; over it {ratio / base:5.2f} x")
    print("  (close to 1: O(1) in the number of stored events)")


if __name__ == "__main__":
    main()
