"""A three-node RabbitMQ cluster on this machine: nodes killed with -9 under load lose and double nothing.

Three `rabbitmq-server` nodes of the test's own (their own ports and data directories, `pause_minority`), clustered
with `rabbitmqctl join_cluster`; the services get all three in AMQP_URL and declare their quorum queues with three
members. Phones book visits and coordinators dispatch commissioners while the node the services are connected to is
killed with SIGKILL; once it is back in the cluster, the node they moved to is killed too. Afterwards every 2xx write
is in reporting exactly once, every outbox entry is published, no dead-letter queue holds anything, and publishing
resumed by itself within 15 s of each kill (the time it took is printed).

The services reconnect to the next node faster than the cluster elects new leaders for the dead node's queues; a
channel whose first publish to a quorum queue comes in that window has every later publish to it nacked (RabbitMQ
3.10), so `shared.messaging.Broker` replaces a channel that is nacked.
"""

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from sciweek.embedded import Stack, free_port
from sciweek.rabbit_node import RabbitNode, start_cluster, wait_running
from shared.outbox import OUTBOX
from shared.settings import SERVICES
from tests.e2e.test_database_crash import Writes, book_visits, dispatch_visits, ledger, set_up, settled

DBS = {name: f"sciweek_{name}" for name in SERVICES}


@pytest.fixture(scope="module")
def cluster() -> Iterator[list[RabbitNode]]:
    RabbitNode.remove_leftovers()
    nodes = start_cluster(3)
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(scope="module")
def stack(cluster: list[RabbitNode], tmp_path_factory: pytest.TempPathFactory, programme_file: Path) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("cluster-logs")
    running = Stack(
        ",".join(node.url() for node in cluster),
        ":memory:",
        ports={name: free_port() for name in SERVICES},
        extra_env={
            "SCIWEEK_QUORUM_INITIAL_GROUP_SIZE": "3",
            "SCIWEEK_PROGRAMME_FILE": str(programme_file),
            "SCIWEEK_PUBLIC_RATE_LIMIT": "1000000/minute",
            "SCIWEEK_RETRY_DELAY_MS": "500",
            "SCIWEEK_RELAY_POLL_S": "0.1",
            "SCIWEEK_VOLUNTEERS_MISSED_CHECK_S": "0",
            "SCIWEEK_LOG_LEVEL": "WARNING",
        },
        log_dir=logs,
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


def queues(node: RabbitNode) -> dict[str, dict[str, Any]]:
    """The cluster's queues as `node` sees them: leader, members, online members, messages."""
    columns = ("name", "type", "leader", "members", "online", "messages")
    rows = json.loads(node.ctl("list_queues", *columns, "--formatter", "json"))
    return {row["name"]: row for row in rows}


def test_every_queue_is_a_quorum_queue_on_all_three_nodes(cluster: list[RabbitNode], stack: Stack) -> None:
    found = queues(cluster[0])
    assert {"sciweek.reporting", "sciweek.reporting.retry", "sciweek.reporting.dlq", "sciweek.unrouted"} <= set(found)
    for name, row in found.items():
        assert row["type"] == "quorum", name
        assert sorted(row["members"]) == sorted(node.name for node in cluster), name


def resumed_after(stack: Stack, killed: datetime, timeout_s: float = 60) -> float:
    """Seconds from `killed` until the first event written after it was published (publishing resumed)."""
    after = {"created_at": {"$gt": killed}, "status": "sent"}
    with MongoClient(stack.db.uri, serverSelectionTimeoutMS=5000) as mongo:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            sent = [
                doc["sent_at"].replace(tzinfo=UTC)
                for name in ("registration", "volunteers")
                for doc in mongo[DBS[name]][OUTBOX].find(after, {"sent_at": 1})
            ]
            if sent:
                return (min(sent) - killed).total_seconds()
            time.sleep(0.2)
    raise AssertionError(f"nothing written after the kill was published within {timeout_s}s")


async def kill_node(node: RabbitNode, survivor: RabbitNode, stack: Stack) -> str:
    """Kill `node` under load; how long until publishing resumed, and whether it led the queue every event goes to."""
    leader = (await asyncio.to_thread(queues, survivor))["sciweek.reporting"]["leader"]
    killed = datetime.now(UTC)
    node.kill()
    resumed = await asyncio.to_thread(resumed_after, stack, killed, 15)
    return f"{resumed:.2f}s (it {'led' if leader == node.name else 'did not lead'} sciweek.reporting)"


async def test_killing_nodes_under_load_loses_and_doubles_nothing(cluster: list[RabbitNode], stack: Stack) -> None:
    writes = Writes()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=16)) as client:
        session_id = await set_up(client, stack)
        volunteers, registration = stack.services["volunteers"].url, stack.services["registration"].url
        stop = asyncio.Event()
        load = [
            *(asyncio.create_task(dispatch_visits(client, volunteers, writes, w, stop)) for w in range(2)),
            *(asyncio.create_task(book_visits(client, registration, session_id, writes, w, stop)) for w in range(2)),
        ]
        await asyncio.sleep(2)
        # the first of AMQP_URL: every service is connected to it, and it leads the queues (they were declared there)
        first = await kill_node(cluster[0], cluster[2], stack)
        await asyncio.to_thread(cluster[0].start)
        await asyncio.to_thread(wait_running, cluster)
        second = await kill_node(cluster[1], cluster[2], stack)  # where they moved to
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*load)

        deadline = time.monotonic() + 60
        state = await asyncio.to_thread(ledger, stack, DBS)
        while not settled(state) and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            state = await asyncio.to_thread(ledger, stack, DBS)
    published = {key for key, status in state["outbox"] if status == "sent"}
    print(
        f"\ncluster: {len(writes.assignments)} assignments, {len(writes.bookings)} bookings, {len(state['outbox'])} "
        f"events; publishing resumed {first} after the first kill, {second} after the second; lost "
        f"{len(published - set(state['inbox']))}, applied twice {len(state['inbox']) - len(set(state['inbox']))}"
    )
    assert settled(state), "outbox and reporting's inbox differ"
    assert len(state["inbox"]) == len(set(state["inbox"]))
    assert writes.assignments <= state["assignments"] and writes.bookings <= state["bookings"]
    assert state["province"].get("planned") == len(state["assignments"])
    assert state["province"].get("bookings") == len(state["bookings"])
    dead_lettered = {name: row["messages"] for name, row in queues(cluster[0]).items() if name.endswith(".dlq")}
    assert "sciweek.reporting.dlq" in dead_lettered and set(dead_lettered.values()) == {0}, dead_lettered
    assert stack.dead() == []
    assert set(writes.statuses) <= {200, 201}, (writes.statuses, writes.refusals[:5])
