"""Pipeline benchmark: raw limits of the parts, then the skeleton flow end to end, as ratios.

Run: .venv/bin/python -m bench.pipeline [--visits 400] [--latency-samples 150]
Needs RabbitMQ at AMQP_URL (a throw-away vhost is created) and the SecantusDB install (./scripts/install).
"""

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import httpx
from pymongo import AsyncMongoClient

from sciweek.embedded import Stack, free_port
from shared.auth import mint_token
from shared.settings import SERVICES, Settings
from shared.testing import RabbitVhost

CITY = "450100"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bounded(n: int, concurrency: int, job: Callable[[int], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Any:
        async with gate:
            return await job(i)

    return await asyncio.gather(*(one(i) for i in range(n)))


async def raw_db_insert_rate(uri: str, n: int) -> float:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    coll = client["bench_raw"]["docs"]
    started = time.perf_counter()
    for i in range(n):
        await coll.insert_one({"_id": str(uuid.uuid4()), "i": i, "city": CITY})
    rate = n / (time.perf_counter() - started)
    await client.close()
    return rate


async def op_count(uri: str) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    counters = (await client.admin.command("serverStatus"))["opcounters"]
    await client.close()
    return sum(int(v) for v in counters.values())


async def raw_broker(amqp_url: str, n: int) -> dict[str, float]:
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.declare_exchange("bench.raw", aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue("bench.raw", durable=True, arguments={"x-queue-type": "quorum"})
    await queue.bind(exchange, "#")

    def message(body: bytes) -> aio_pika.Message:
        return aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)

    started = time.perf_counter()
    for _ in range(n):
        await exchange.publish(message(b"x" * 400), "raw.bench.sent.v1")
    sequential = n / (time.perf_counter() - started)
    started = time.perf_counter()
    await bounded(n, 200, lambda i: exchange.publish(message(b"x" * 400), "raw.bench.sent.v1"))
    pipelined = n / (time.perf_counter() - started)

    await channel.set_qos(prefetch_count=200)
    done = asyncio.Event()
    seen = 0

    async def on_message(m: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal seen
        await m.ack()
        seen += 1
        if seen == 2 * n:
            done.set()

    started = time.perf_counter()
    tag = await queue.consume(on_message)
    await asyncio.wait_for(done.wait(), 120)
    consume = 2 * n / (time.perf_counter() - started)
    await queue.cancel(tag)

    latencies: list[float] = []
    all_timed = asyncio.Event()

    async def on_timed(m: aio_pika.abc.AbstractIncomingMessage) -> None:
        latencies.append(time.perf_counter() - float(m.body))
        await m.ack()
        if len(latencies) == n // 2:
            all_timed.set()

    tag = await queue.consume(on_timed)
    for _ in range(n // 2):  # paced at ~1000 msg/s, each confirmed
        await exchange.publish(message(str(time.perf_counter()).encode()), "raw.bench.sent.v1")
        await asyncio.sleep(0.001)
    await asyncio.wait_for(all_timed.wait(), 120)
    await queue.cancel(tag)
    await connection.close()
    return {
        "publish_sequential": sequential,
        "publish_pipelined": pipelined,
        "consume": consume,
        "latency_p50": pct(latencies, 0.5),
        "latency_p99": pct(latencies, 0.99),
    }


class Flow:
    """The skeleton flow over HTTP against the running processes."""

    def __init__(self, stack: Stack, client: httpx.AsyncClient) -> None:
        settings = Settings(service="reporting")
        self.volunteers = stack.services["volunteers"].url
        self.reporting = stack.services["reporting"].url
        self.client = client
        self.coordinator = {"Authorization": f"Bearer {mint_token(settings, role='city', sub='b', city=CITY)}"}
        self.volunteer = {"Authorization": f"Bearer {mint_token(settings, role='volunteer', sub='c-bench')}"}

    async def register(self, villages: int) -> None:
        """Dispatch needs the commissioner (free enough that day) and the villages with their households."""
        admin = {"Authorization": f"Bearer {mint_token(Settings(service='reporting'), role='admin', sub='bench')}"}
        person = {
            "id": "c-bench",
            "name": "特派员",
            "phone": "13800000000",
            "city_code": CITY,
            "available_dates": ["2020-08-24"],
            "max_visits_per_day": 1000,
        }
        url = f"{self.volunteers}/api/v1"
        (await self.client.put(f"{url}/commissioners/c-bench", json=person, headers=admin)).raise_for_status()
        rows = [f"v-{i},村{i},{CITY},23.1,108.3" for i in range(villages)]
        homes = [f"v-{i}-{h},v-{i},农户,种植" for i in range(villages) for h in ("h1", "h2")]
        for kind, header, lines in (
            ("villages", "code,name,city_code,lat,lon", rows),
            ("households", "id,village_code,head_name,needs", homes),
        ):
            content = "\n".join([header, *lines]).encode()
            files = {"file": (f"{kind}.csv", content)}
            (await self.client.post(f"{url}/{kind}/import", files=files, headers=admin)).raise_for_status()

    async def create(self, i: int) -> str:
        body = {
            "commissioner_id": "c-bench",
            "city_code": CITY,
            "village_code": f"v-{i}",
            "visit_date": "2020-08-24",
            "household_ids": [f"v-{i}-h1", f"v-{i}-h2"],
        }
        response = await self.client.post(f"{self.volunteers}/api/v1/assignments", json=body, headers=self.coordinator)
        response.raise_for_status()
        return str(response.json()["id"])

    async def report(self, assignment_id: str) -> None:
        body = {"households_reached": [], "consultations": 1, "people_trained": 2, "books_handed_out": 3}
        response = await self.client.post(
            f"{self.volunteers}/api/v1/assignments/{assignment_id}/report", json=body, headers=self.volunteer
        )
        response.raise_for_status()

    async def counts(self) -> tuple[int, int]:
        progress = (await self.client.get(f"{self.reporting}/api/v1/progress")).json()
        return int(progress["planned"]), int(progress["completed"])

    async def wait_for(self, planned: int, completed: int, poll_s: float = 0.005) -> None:
        deadline = time.monotonic() + 300
        while await self.counts() < (planned, completed):
            if time.monotonic() > deadline:
                raise TimeoutError(f"projection stuck at {await self.counts()}")
            await asyncio.sleep(poll_s)


async def end_to_end(stack: Stack, visits: int, samples: int) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=32)) as client:
        flow = Flow(stack, client)
        await flow.register(visits + samples)
        ids = await bounded(visits + samples, 8, flow.create)
        await flow.wait_for(visits + samples, 0)
        ops_before = await op_count(stack.db.uri)
        started = time.perf_counter()
        await bounded(visits, 8, lambda i: flow.report(ids[i]))
        http_rate = visits / (time.perf_counter() - started)
        await flow.wait_for(visits + samples, visits, poll_s=0.02)
        rate = visits / (time.perf_counter() - started)
        ops_per_visit = (await op_count(stack.db.uri) - ops_before) / visits
        latencies = []
        for n, assignment_id in enumerate(ids[visits:], start=1):
            await flow.report(assignment_id)
            answered = time.perf_counter()
            await flow.wait_for(visits + samples, visits + n, poll_s=0.001)
            latencies.append(time.perf_counter() - answered)
    return {
        "rate": rate,
        "http_rate": http_rate,
        "ops_per_visit": ops_per_visit,
        "latency_p50": pct(latencies, 0.5),
        "latency_p99": pct(latencies, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=400)
    parser.add_argument("--latency-samples", type=int, default=150)
    parser.add_argument("--raw-messages", type=int, default=3000)
    args = parser.parse_args()
    vhost = RabbitVhost(Settings(service="reporting").amqp_url)
    vhost.create()
    stack = Stack(
        vhost.url,
        ":memory:",
        ports={name: free_port() for name in SERVICES},
        # the bench polls the public /api/v1/progress every few milliseconds to see when a visit is counted
        extra_env={"SCIWEEK_LOG_LEVEL": "WARNING", "SCIWEEK_PUBLIC_RATE_LIMIT": "1000000/minute"},
    )
    try:
        stack.start()
        db_rate = asyncio.run(raw_db_insert_rate(stack.db.uri, 2000))
        broker = asyncio.run(raw_broker(vhost.url, args.raw_messages))
        flow = asyncio.run(end_to_end(stack, args.visits, args.latency_samples))
    finally:
        stack.stop()
        vhost.delete()
    ceiling = db_rate / flow["ops_per_visit"]
    print("\n== raw limits (this run) ==")
    print(f"SecantusDB insert_one, sequential        {db_rate:9.0f} /s")
    print(f"RabbitMQ publish+confirm, one at a time  {broker['publish_sequential']:9.0f} msg/s")
    print(f"RabbitMQ publish+confirm, 200 in flight  {broker['publish_pipelined']:9.0f} msg/s")
    print(f"RabbitMQ consume+ack, prefetch 200       {broker['consume']:9.0f} msg/s")
    print(
        f"publish->consume latency p50 / p99       {broker['latency_p50'] * 1e3:7.2f} / "
        f"{broker['latency_p99'] * 1e3:.2f} ms"
    )
    print("\n== skeleton flow, real processes ==")
    print(f"completed visits sustained               {flow['rate']:9.1f} /s")
    print(f"  of which the HTTP side alone           {flow['http_rate']:9.1f} /s")
    print(f"DB operations per completed visit        {flow['ops_per_visit']:9.1f}  (serverStatus opcounters)")
    print(f"  vs DB ceiling (insert rate / ops)      {flow['rate'] / ceiling:9.2f} x  (target >= 0.5)")
    print(
        f"HTTP 200 -> projection p50 / p99         {flow['latency_p50'] * 1e3:7.2f} / "
        f"{flow['latency_p99'] * 1e3:.2f} ms"
    )
    print(
        f"  p99 vs raw publish->consume p99        {flow['latency_p99'] / broker['latency_p99']:9.1f} x  (target <= 10)"
    )
    print(f"  p99 vs publish+confirm (1 msg) time    {flow['latency_p99'] * broker['publish_sequential']:9.1f} x")


if __name__ == "__main__":
    main()
