"""Durability: kill -9 the database under HTTP and consumer load, restart it; nothing acknowledged is lost.

The real processes: SecantusDB on disk (as `sciweek up` runs it), the four services, the run's broker.
Phones book visits and coordinators dispatch commissioners while the database is killed at a random
moment, five times. After each crash: every 2xx write is in its owner's database, every event in the
producers' outboxes is in reporting's inbox exactly once (and only those), reporting's counters equal
the producers' state, and no dead-letter queue holds anything.
"""

import asyncio
import itertools
import os
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
from services.registration.store import BOOKINGS
from services.reporting.consumers import ROUTES as REPORTING_ROUTES
from services.reporting.store import COUNTERS
from services.volunteers.store import ASSIGNMENTS
from shared.auth import mint_token
from shared.idempotency import INBOX
from shared.settings import SERVICES, Settings
from shared.testing import RabbitVhost, outbox_keys, rabbitmqctl
from tests.conftest import today

CRASHES = 5
CITIES = ["450100", "450200", "450300", "450400"]
TOKENS = Settings(service="reporting")


def bearer(role: Any, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKENS, role=role, **claims)}"}


@pytest.fixture
def stack(vhost: RabbitVhost, tmp_path: Path, programme_file: Path) -> Iterator[Stack]:
    running = Stack(
        vhost.url,
        tmp_path / "data",
        ports={name: free_port() for name in SERVICES},
        extra_env={
            "SCIWEEK_NAMESPACE": f"crash{uuid.uuid4().hex[:8]}",
            "SCIWEEK_PROGRAMME_FILE": str(programme_file),
            "SCIWEEK_PUBLIC_RATE_LIMIT": "1000000/minute",
            "SCIWEEK_MONGODB_TIMEOUT_MS": "3000",
            "SCIWEEK_RETRY_DELAY_MS": "500",
            "SCIWEEK_RELAY_POLL_S": "0.1",
            "SCIWEEK_VOLUNTEERS_MISSED_CHECK_S": "0",
            "SCIWEEK_LOG_LEVEL": "WARNING",
        },
        log_dir=tmp_path / "logs",
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


@dataclass
class Writes:
    """What the clients were told: ids answered 2xx, and every final status."""

    assignments: set[str] = field(default_factory=set)
    bookings: set[str] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    phones: Iterator[int] = field(default_factory=itertools.count)  # one phone per booking (a phone may book 3 a day)

    def count(self, reply: httpx.Response) -> None:
        self.statuses[reply.status_code] = self.statuses.get(reply.status_code, 0) + 1
        if not reply.is_success:
            self.refusals.append(f"{reply.request.method} {reply.request.url.path}: {reply.status_code} {reply.text}")


async def send(client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    """POST like a phone: on a dropped connection or a 5xx, the same request again with the same Idempotency-Key."""
    headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    for _ in range(40):
        try:
            reply = await client.post(url, json=body, headers=headers)
        except httpx.TransportError:
            await asyncio.sleep(0.25)
            continue
        if reply.status_code < 500:
            return reply
        await asyncio.sleep(0.25)
    raise AssertionError(f"{url} never answered below 500 in 40 tries")


async def set_up(client: httpx.AsyncClient, stack: Stack) -> str:
    """Commissioners and villages in four cities; an approved venue with a published open day; its session id."""
    volunteers, registration = stack.services["volunteers"].url, stack.services["registration"].url
    admin = bearer("admin", sub="crash-admin")
    files = {
        "commissioners": ["id,name,phone,city_code,available_dates,max_visits_per_day"]
        + [f"c{i},特派员{i},1380000000{i},{CITIES[i % 4]},2020-08-24,1000" for i in range(8)],
        "villages": ["code,name,city_code,lat,lon"] + [f"v{c},村{c},{c},23.1,108.3" for c in CITIES],
        "households": ["id,village_code,head_name"] + [f"h{c},v{c},农户" for c in CITIES],
    }
    for kind, lines in files.items():
        imported = await client.post(
            f"{volunteers}/api/v1/{kind}/import", files={"file": (f"{kind}.csv", "\n".join(lines))}, headers=admin
        )
        assert imported.status_code == 200, imported.text
    operator = bearer("venue", sub="crash-operator")
    venue = await client.post(
        f"{registration}/api/v1/venues",
        json={"name": "广西科技馆", "org_type": "science_museum", "city_code": "450100"},
        headers=operator,
    )
    assert venue.status_code == 201, venue.text
    approved = await client.post(
        f"{registration}/api/v1/venues/{venue.json()['id']}/approve",
        headers=bearer("city", sub="coord-450100", city="450100"),
    )
    assert approved.status_code == 200, approved.text
    openday = {
        "date": str(today()),
        "sessions": [{"start": "09:00", "end": "17:00", "capacity": 10_000}],
        "booking_closes_at": f"{today()}T23:59:00+08:00",
        "max_group_size": 10,
    }
    created = await client.post(
        f"{registration}/api/v1/venues/{venue.json()['id']}/opendays", json=openday, headers=operator
    )
    assert created.status_code == 201, created.text
    published = await client.post(f"{registration}/api/v1/opendays/{created.json()['id']}/publish", headers=operator)
    assert published.status_code == 200, published.text
    return str(published.json()["sessions"][0]["session_id"])


async def dispatch_visits(
    client: httpx.AsyncClient, url: str, writes: Writes, worker: int, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        city = CITIES[worker % 4]
        body = {
            "commissioner_id": f"c{worker % 8}",
            "city_code": city,
            "village_code": f"v{city}",
            "visit_date": "2020-08-24",
            "household_ids": [f"h{city}"],
        }
        reply = await send(client, f"{url}/api/v1/assignments", body, bearer("city", sub=f"coord-{city}", city=city))
        writes.count(reply)
        if reply.is_success:
            writes.assignments.add(reply.json()["id"])


async def book_visits(
    client: httpx.AsyncClient, url: str, session_id: str, writes: Writes, worker: int, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        body = {"session_id": session_id, "name": "张三", "phone": f"139{next(writes.phones):08d}", "party_size": 1}
        reply = await send(client, f"{url}/api/v1/public/bookings", body, {})
        writes.count(reply)
        if reply.is_success:
            writes.bookings.add(reply.json()["id"])


def ledger(stack: Stack, namespace_dbs: dict[str, str]) -> dict[str, Any]:
    """The databases' side: producers' rows and outboxes, reporting's inbox and counters."""
    with MongoClient(stack.db.uri, serverSelectionTimeoutMS=5000) as mongo:
        volunteers, registration = mongo[namespace_dbs["volunteers"]], mongo[namespace_dbs["registration"]]
        reporting = mongo[namespace_dbs["reporting"]]
        outbox = [key for db in (volunteers, registration) for key in outbox_keys(db, REPORTING_ROUTES)]
        return {
            "assignments": {d["_id"] for d in volunteers[ASSIGNMENTS].find({}, {"_id": 1})},
            "bookings": {d["_id"] for d in registration[BOOKINGS].find({"status": "confirmed"}, {"_id": 1})},
            "outbox": outbox,
            "inbox": [
                d["_id"]
                for d in reporting[INBOX].find({"_id": {"$regex": "^[^/]+/(volunteers|registration)/"}}, {"_id": 1})
            ],
            "province": reporting[COUNTERS].find_one({"_id": "province"}) or {},
        }


def settled(state: dict[str, Any]) -> bool:
    published = {key for key, status in state["outbox"] if status == "sent"}
    return len(published) == len(state["outbox"]) and published == set(state["inbox"])


def dead_letters(vhost: RabbitVhost) -> dict[str, int]:
    lines = rabbitmqctl("list_queues", "-p", vhost.name, "name", "messages", node=vhost.node).splitlines()
    rows = [line.split("\t") for line in lines if "\t" in line]
    depths = {row[0]: int(row[1]) for row in rows if row[1].isdigit()}
    assert any(name.endswith(".dlq") for name in depths), lines
    return {name: count for name, count in depths.items() if name.endswith(".dlq") and count}


async def test_killing_the_database_under_load_loses_no_acknowledged_write(stack: Stack, vhost: RabbitVhost) -> None:
    seed = int(os.environ.get("SCIWEEK_CRASH_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    namespace = stack.extra_env["SCIWEEK_NAMESPACE"]
    dbs = {name: f"sciweek_{name}" for name in SERVICES}
    writes = Writes()
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        session_id = await set_up(client, stack)
        volunteers, registration = stack.services["volunteers"].url, stack.services["registration"].url
        for crash in range(1, CRASHES + 1):
            before = len(writes.assignments) + len(writes.bookings)
            stop = asyncio.Event()
            load = [
                *(asyncio.create_task(dispatch_visits(client, volunteers, writes, w, stop)) for w in range(3)),
                *(
                    asyncio.create_task(book_visits(client, registration, session_id, writes, w, stop))
                    for w in range(3)
                ),
            ]
            await asyncio.sleep(rng.uniform(0.8, 2.0))
            stack.db.kill()
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            await asyncio.to_thread(stack.db.start)
            await asyncio.sleep(1.5)  # the load goes on against the restarted database
            stop.set()
            await asyncio.gather(*load)
            assert len(writes.assignments) + len(writes.bookings) > before, f"crash {crash}: no write got through"

            deadline = time.monotonic() + 60
            state = await asyncio.to_thread(ledger, stack, dbs)
            while not settled(state) and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
                state = await asyncio.to_thread(ledger, stack, dbs)
            context = f"crash {crash} (seed {seed}, namespace {namespace})"
            assert writes.assignments <= state["assignments"], f"{context}: acknowledged assignments lost"
            assert writes.bookings <= state["bookings"], f"{context}: acknowledged bookings lost"
            assert settled(state), f"{context}: outbox and reporting's inbox differ"
            assert len(state["inbox"]) == len(set(state["inbox"]))
            assert state["province"].get("planned") == len(state["assignments"]), context
            assert state["province"].get("bookings") == len(state["bookings"]), context
            assert dead_letters(vhost) == {}, context
            assert stack.dead() == [], f"{context}: a service process died"
    assert set(writes.statuses) <= {200, 201}, (writes.statuses, writes.refusals[:5])
