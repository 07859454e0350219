"""Scale-out: two replicas of every service behind nginx, one of each killed with -9 under write load.

The real processes: SecantusDB on disk, two processes of each service on one database and broker, nginx holding one
port per service in front of its two replicas (as `sciweek up --replicas 2` runs them). Phones book visits to a
venue, commissioners' phones upload sync batches, the office decides exhibits; mid-load one replica of each service
is killed with SIGKILL. Clients retry like phones (same Idempotency-Key, same op ids). Afterwards: every 2xx write
is counted once in reporting's read models (its API), every outbox entry is published, and reporting's inbox holds
exactly the producers' outbox events, each once.
"""

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from sciweek.embedded import Stack, free_port
from sciweek.gateway import NginxGateway, nginx_binary, route_table
from services.reporting.consumers import ROUTES as REPORTING_ROUTES
from shared.idempotency import INBOX
from shared.settings import SERVICES
from shared.testing import RabbitVhost, outbox_keys
from tests.e2e.test_database_crash import CITIES, Writes, bearer, book_visits, dead_letters, send, set_up

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (apt-get install nginx)")

PRODUCERS = ("registration", "exhibits", "volunteers")
HERE = {"lat": 23.1, "lon": 108.3, "accuracy_m": 10}


@dataclass
class Fronted:
    """The stack and nginx's port per service in front of its replicas."""

    stack: Stack
    urls: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def fronted(vhost: RabbitVhost, tmp_path: Path, programme_file: Path) -> Iterator[Fronted]:
    stack = Stack(
        vhost.url,
        tmp_path / "data",
        ports={name: free_port() for name in SERVICES},
        extra_env={
            "SCIWEEK_NAMESPACE": f"replicas{uuid.uuid4().hex[:8]}",
            "SCIWEEK_PROGRAMME_FILE": str(programme_file),
            "SCIWEEK_PUBLIC_RATE_LIMIT": "1000000/minute",
            "SCIWEEK_RETRY_DELAY_MS": "500",
            "SCIWEEK_RELAY_POLL_S": "0.1",
            "SCIWEEK_RELAY_LEASE_S": "4",  # a killed relay's lease passes to its peer within 4 s
            "SCIWEEK_TRANSACTION_DEADLINE_S": "5",
            "SCIWEEK_VOLUNTEERS_MISSED_CHECK_S": "0",
            "SCIWEEK_LOG_LEVEL": "WARNING",
        },
        log_dir=tmp_path / "logs",
        replicas=2,
        replica_ports={name: [free_port(), free_port()] for name in SERVICES},
    )
    gateway = None
    try:
        stack.start()
        upstreams = {name: [f"127.0.0.1:{p.port}" for p in procs] for name, procs in stack.replicas.items()}
        fronts = {name: free_port() for name in SERVICES}  # taken now: a port picked early may be gone by now
        gateway = NginxGateway(route_table(), upstreams, 0, tmp_path / "gateway", fronts=fronts)
        gateway.start()
        yield Fronted(stack, {name: f"http://127.0.0.1:{port}" for name, port in fronts.items()})
    finally:
        if gateway is not None:
            gateway.stop()
        stack.stop()


@dataclass
class Done:
    """What the clients were answered 2xx, beyond the bookings and assignments of `Writes`."""

    completed: set[str] = field(default_factory=set)
    submitted: set[str] = field(default_factory=set)
    decided: dict[str, str] = field(default_factory=dict)


async def sync_visits(
    client: httpx.AsyncClient, url: str, writes: Writes, done: Done, worker: int, stop: asyncio.Event
) -> None:
    """A coordinator plans a visit; the commissioner's phone uploads accept, check-in, check-out and report."""
    while not stop.is_set():
        city, commissioner = CITIES[worker % 4], f"c{worker % 8}"
        plan = {
            "commissioner_id": commissioner,
            "city_code": city,
            "village_code": f"v{city}",
            "visit_date": "2020-08-24",
            "household_ids": [f"h{city}"],
        }
        reply = await send(client, f"{url}/api/v1/assignments", plan, bearer("city", sub=f"coord-{city}", city=city))
        writes.count(reply)
        if not reply.is_success:
            continue
        aid = reply.json()["id"]
        writes.assignments.add(aid)
        report = {"households_reached": [f"h{city}"], "consultations": 1, "people_trained": 2, "books_handed_out": 3}
        ops = [
            {"op_id": str(uuid.uuid4()), "type": kind, "assignment_id": aid, "device_time": now(), "payload": payload}
            for kind, payload in (("accept", {}), ("check_in", HERE), ("check_out", HERE), ("report", report))
        ]
        synced = await send(client, f"{url}/api/v1/sync", {"operations": ops}, bearer("volunteer", sub=commissioner))
        writes.count(synced)
        if synced.is_success and synced.json()["results"][-1]["status"] == "applied":
            done.completed.add(aid)


async def decide_exhibits(
    client: httpx.AsyncClient, url: str, writes: Writes, done: Done, worker: int, stop: asyncio.Event
) -> None:
    """An exhibitor submits an exhibit; the office accepts or rejects it."""
    exhibitor = bearer("exhibitor", sub=f"user-{worker}", org=f"org{worker}", city=CITIES[worker % 4])
    while not stop.is_set():
        body = {
            "title": f"展项 {uuid.uuid4().hex[:6]}",
            "zone": 3,
            "industry": "现代农业",
            "summary": "s",
            "submit": True,
        }
        created = await send(client, f"{url}/api/v1/submissions", body, exhibitor)
        writes.count(created)
        if not created.is_success:
            continue
        exhibit = created.json()["id"]
        done.submitted.add(exhibit)
        decision = random.choice(["accepted", "rejected"])
        decided = await send(
            client,
            f"{url}/api/v1/submissions/{exhibit}/decision",
            {"decision": decision, "force": True},
            bearer("admin", sub="office"),
        )
        writes.count(decided)
        if decided.is_success:
            done.decided[exhibit] = decision


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def pipeline(stack: Stack) -> dict[str, Any]:
    """Every producer's outbox entries for reporting (key, status) and reporting's inbox keys."""
    with MongoClient(stack.db.uri, serverSelectionTimeoutMS=5000) as mongo:
        outbox = [key for name in PRODUCERS for key in outbox_keys(mongo[f"sciweek_{name}"], REPORTING_ROUTES)]
        inbox = [
            d["_id"]
            for d in mongo["sciweek_reporting"][INBOX].find(
                {"_id": {"$regex": f"^sciweek/({'|'.join(PRODUCERS)})/"}}, {"_id": 1}
            )
        ]
    return {"outbox": outbox, "inbox": inbox}


def differences(state: dict[str, Any]) -> dict[str, int]:
    sent = {key for key, status in state["outbox"] if status == "sent"}
    inbox = set(state["inbox"])
    pending = len(state["outbox"]) - len(sent)
    return {"pending": pending, "sent_not_consumed": len(sent - inbox), "consumed_not_in_outbox": len(inbox - sent)}


def settled(state: dict[str, Any]) -> bool:
    sent = {key for key, status in state["outbox"] if status == "sent"}
    return len(sent) == len(state["outbox"]) and sent == set(state["inbox"])


async def test_killing_one_replica_of_each_service_under_load_loses_and_doubles_nothing(
    fronted: Fronted, vhost: RabbitVhost
) -> None:
    stack, urls = fronted.stack, fronted.urls
    writes, done = Writes(), Done()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=16)) as client:
        session_id = await set_up(client, stack_at(urls))
        stop = asyncio.Event()
        load = [
            *(
                asyncio.create_task(book_visits(client, urls["registration"], session_id, writes, w, stop))
                for w in range(2)
            ),
            *(asyncio.create_task(sync_visits(client, urls["volunteers"], writes, done, w, stop)) for w in range(2)),
            *(asyncio.create_task(decide_exhibits(client, urls["exhibits"], writes, done, w, stop)) for w in range(2)),
        ]
        await asyncio.sleep(3)
        before = len(writes.bookings) + len(done.completed) + len(done.decided)
        victims = [procs[0] for procs in stack.replicas.values()]
        for victim in victims:
            victim.kill()
        killed_at = time.monotonic()
        await asyncio.sleep(4)  # the load goes on against the surviving replicas
        stop.set()
        await asyncio.gather(*load)
        after = len(writes.bookings) + len(done.completed) + len(done.decided)
        assert after > before, "no write got through after the kill"

        state = await asyncio.to_thread(pipeline, stack)
        while not settled(state) and time.monotonic() < killed_at + 90:
            await asyncio.sleep(0.5)
            state = await asyncio.to_thread(pipeline, stack)
        settle_s = time.monotonic() - killed_at
        totals = await dashboard_totals(client, urls["reporting"])
    print(
        f"\nreplicas: {len(writes.bookings)} bookings, {len(writes.assignments)} visits planned, {len(done.completed)} "
        f"synced complete, {len(done.decided)} exhibits decided; statuses {writes.statuses}; "
        f"{len(state['outbox'])} events, settled {settle_s:.1f}s after the kill"
    )
    assert settled(state), f"outbox and reporting's inbox differ: {differences(state)}"
    assert len(state["inbox"]) == len(set(state["inbox"]))
    assert totals["bookings"] == len(writes.bookings)
    assert totals["planned"] == len(writes.assignments)
    assert totals["completed"] == len(done.completed)
    assert totals["exhibits_submitted"] == len(done.submitted)
    accepted = [e for e, d in done.decided.items() if d == "accepted"]
    assert totals["exhibits_accepted"] == len(accepted)
    assert totals["exhibits_rejected"] == len(done.decided) - len(accepted)
    assert dead_letters(vhost) == {}
    assert [p for p in stack.dead_replicas() if p not in victims] == [], "a surviving replica died"
    assert set(writes.statuses) <= {200, 201}, (writes.statuses, writes.refusals[:5])


def stack_at(urls: dict[str, str]) -> Any:
    """`set_up` reads `stack.services[name].url`: the same through nginx's ports."""

    @dataclass
    class At:
        url: str

    @dataclass
    class Urls:
        services: dict[str, At]

    return Urls({name: At(url) for name, url in urls.items()})


async def dashboard_totals(client: httpx.AsyncClient, reporting: str) -> dict[str, int]:
    reply = await client.get(f"{reporting}/api/v1/dashboard", headers=bearer("admin", sub="office"))
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["totals"])
