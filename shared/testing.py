"""Test support against the real broker and a real MongoDB-wire server (used by tests/ and bench/)."""

import asyncio
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from subprocess import PIPE
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from aio_pika.abc import AbstractQueue
from fastapi import FastAPI

from shared.app import Runtime
from shared.messaging import Broker
from shared.outbox import LEASES, OUTBOX, entry_envelopes
from shared.settings import Settings

T = TypeVar("T")

CTL_TIMEOUT_S = 30.0


class RabbitCtlError(RuntimeError):
    """rabbitmqctl failed or did not answer in time."""


def rabbitmqctl(*args: str, node: str | None = None, timeout_s: float = CTL_TIMEOUT_S) -> str:
    """Run rabbitmqctl against `node` (the machine's default node if None), bounded by `timeout_s`."""
    command = ["rabbitmqctl", "-q", *(["-n", node] if node else []), *args]
    # its own process group: on a timeout the whole chain (su, the Erlang CLI) goes, not only the wrapper
    process = subprocess.Popen(command, stdout=PIPE, stderr=PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise RabbitCtlError(
            f"`{' '.join(command)}` did not answer within {timeout_s:.0f}s: is node {node or 'rabbit@<host>'} wedged?"
        ) from None
    if process.returncode != 0:
        raise RabbitCtlError(f"`{' '.join(command)}` failed ({process.returncode}): {err.strip()[-500:]}")
    return out


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    return Path(f"/proc/{pid}").exists()


VHOST_NAME = re.compile(r"^sciweek-test-(?:(\d+)-)?[0-9a-f]+$")


class RabbitVhost:
    """A virtual host of its own for one test run, deleted afterwards with everything in it.

    `node` names the broker for rabbitmqctl (None: the machine's default node). Names carry the creating
    process's id, so a later run can delete the vhosts (and their quorum queues) of runs that were killed.
    """

    def __init__(
        self, base_url: str = "amqp://guest:guest@127.0.0.1:5672/", user: str = "guest", node: str | None = None
    ) -> None:
        self.name = f"sciweek-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.base_url = base_url
        self.user = user
        self.node = node

    @property
    def url(self) -> str:
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + quote(self.name, safe=""), "", ""))

    def create(self) -> str:
        rabbitmqctl("add_vhost", self.name, node=self.node)
        rabbitmqctl("set_permissions", "-p", self.name, self.user, ".*", ".*", ".*", node=self.node)
        return self.url

    def close_connections(self) -> None:
        """Drop every client connection to this vhost (a broker outage as clients see it)."""
        rabbitmqctl("close_all_connections", "-p", self.name, "test: simulated connection loss", node=self.node)

    def delete(self) -> None:
        rabbitmqctl("delete_vhost", self.name, node=self.node)

    def remove_leftovers(self) -> list[str]:
        """Delete the test vhosts on this broker whose creating process is gone; return their names."""
        removed = []
        for name in rabbitmqctl("list_vhosts", "name", node=self.node).split():
            match = VHOST_NAME.match(name)
            if match and name != self.name and not (match[1] and process_alive(int(match[1]))):
                try:
                    rabbitmqctl("delete_vhost", name, node=self.node, timeout_s=120)
                except RabbitCtlError as exc:
                    if "does not exist" not in str(exc):  # another run (or its own teardown) was quicker
                        raise
                    continue
                removed.append(name)
        return removed


def make_settings(service: str, *, mongodb_url: str, amqp_url: str, namespace: str, **overrides: Any) -> Settings:
    """Settings isolated by `namespace`: own exchange, queues and database."""
    values: dict[str, Any] = {
        "service": service,
        "mongodb_url": mongodb_url,
        "amqp_url": amqp_url,
        "namespace": namespace,
        "mongodb_db": f"{namespace}_{service}".replace(".", "_"),
        "relay_poll_s": 0.1,
        "mongodb_timeout_ms": 2000,
        "retry_delay_ms": 300,
        "shutdown_grace_s": 2,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def running_service(app: FastAPI, timeout_s: float = 30) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """Run `app`'s lifespan, wait until its broker side is up, and yield it with an ASGI client."""
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        await asyncio.wait_for(runtime.started.wait(), timeout_s)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield runtime, client


async def reset_service(runtime: Runtime, keep: Collection[str] = (LEASES,), idle_timeout_s: float = 30) -> None:
    """Bring a running service back to empty for the next test: its relay and consumer quiet (AssertionError if not
    within `idle_timeout_s`), every collection but `keep` emptied (indexes stay), its caches and rate-limit budgets
    forgotten and its clock unfixed."""
    # what the last test wrote is published and consumed before it is deleted: nothing of it lands in the next test
    await eventually(lambda: _quiet(runtime), timeout_s=idle_timeout_s, interval_s=0.02)
    names = [n for n in await runtime.db.list_collection_names() if n not in keep and not n.startswith("system.")]
    await asyncio.gather(*(runtime.db[name].delete_many({}) for name in names))
    for cache in runtime.caches.values():
        cache.entries.clear()
    runtime.limiter.storage.reset()
    runtime.clock.fixed = None


async def _quiet(runtime: Runtime) -> bool:
    """No outbox entry due, and the consumer (if any) idle with nothing waiting in its queue or retry queue."""
    if await runtime.db[OUTBOX].count_documents({"status": "pending", "due_at": {"$lte": datetime.now(UTC)}}):
        return False
    consumer, connection = runtime.consumer, runtime.broker.connection
    if consumer is None or consumer.queue is None or connection is None:
        return True
    if not consumer.idle:
        return False
    async with connection.channel() as channel:  # its own: a failed passive declare closes the channel
        for name in (runtime.settings.queue, f"{runtime.settings.queue}.retry"):
            queue = await channel.declare_queue(name, passive=True)
            if queue.declaration_result.message_count:
                return False
    return consumer.idle


async def tap_events(broker: Broker, *bindings: str, name: str | None = None) -> AbstractQueue:
    """A queue on the service's events exchange, to see what its relay really published.

    Named: durable (read later from another connection); unnamed: exclusive to this connection.
    """
    assert broker.connection is not None
    channel = await broker.connection.channel()
    if name is None:
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    else:
        queue = await channel.declare_queue(name, durable=True)
    for binding in bindings or ("#",):
        await queue.bind(broker.settings.exchange, routing_key=binding)
    return queue


async def eventually(check: Callable[[], Awaitable[T]], timeout_s: float = 15, interval_s: float = 0.05) -> T:
    """Poll `check` until it returns a truthy value (returned) or the time is up (AssertionError)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last value {value!r}")
        await asyncio.sleep(interval_s)


async def outbox_events(db: Any, type: str | None = None) -> list[dict[str, Any]]:
    """The events in a service's outbox (`db`), in the order they were emitted, of `type` if given.

    An entry may hold several events committed together (`shared.outbox.outbox_entry`): they are listed one by one.
    """
    events = []
    async for entry in db[OUTBOX].find({"type": type} if type else {}, sort=[("created_at", 1), ("_id", 1)]):
        events += [e for e in entry_envelopes(entry) if type is None or e["type"] == type]
    return events


def outbox_keys(db: Any, types: Collection[str]) -> list[tuple[str, str]]:
    """(dedup key, entry status) of each event of `types` in a service's outbox (`db`: a synchronous pymongo one)."""
    return [
        (f"{e['source']}/{e['id']}", entry["status"])
        for entry in db[OUTBOX].find({"type": {"$in": list(types)}})
        for e in entry_envelopes(entry)
        if e["type"] in types
    ]
