"""Session-wide real infrastructure: one SecantusDB process, a RabbitMQ node of the run's own, one vhost in it.

The run never depends on the machine's broker: it starts its own node (free ports, its own directories)
and stops it at the end, also when the run fails or is interrupted. For fast local loops,
SCIWEEK_TEST_AMQP_URL (an existing broker, e.g. amqp://guest:guest@127.0.0.1:5672/) with
SCIWEEK_TEST_RABBIT_NODE (its node name for rabbitmqctl, e.g. rabbit@localhost) reuses one instead.
"""

import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from sciweek.embedded import SecantusServer, ServiceProcess, free_port
from sciweek.rabbit_node import RabbitNode
from shared.auth import Role, mint_token
from shared.settings import REPO_ROOT, Settings
from shared.testing import RabbitVhost, make_settings
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, PHONE


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    server = SecantusServer(":memory:")
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def rabbit_node() -> Iterator[RabbitNode | None]:
    """The run's own broker node (None when SCIWEEK_TEST_AMQP_URL names an existing broker)."""
    if os.environ.get("SCIWEEK_TEST_AMQP_URL"):
        yield None
        return
    RabbitNode.remove_leftovers()
    node = RabbitNode().start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def vhost(rabbit_node: RabbitNode | None) -> Iterator[RabbitVhost]:
    if rabbit_node is None:
        vhost = RabbitVhost(os.environ["SCIWEEK_TEST_AMQP_URL"], node=os.environ.get("SCIWEEK_TEST_RABBIT_NODE"))
        vhost.remove_leftovers()
    else:
        vhost = RabbitVhost(rabbit_node.url(), node=rabbit_node.name)
    vhost.create()
    yield vhost
    vhost.delete()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


TZ = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(TZ).date()


@pytest.fixture(scope="session")
def programme_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference programme moved to run from yesterday for ten days, so bookings are open now."""
    text = (REPO_ROOT / "config" / "programme.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^start = .*$", f"start = {today() - timedelta(days=1)}", text, count=1)
    text = re.sub(r"(?m)^end = .*$", f"end = {today() + timedelta(days=9)}", text, count=1)
    path = tmp_path_factory.mktemp("programme") / "programme.toml"
    path.write_text(text, encoding="utf-8")
    return path


ProcessStarter = Callable[..., tuple[ServiceProcess, str]]


@pytest.fixture
def service_process(
    vhost: RabbitVhost, mongodb_url: str, namespace: str, programme_file: Path, tmp_path: Path
) -> Iterator[ProcessStarter]:
    """Start real service processes on the run's database and broker: `service_process("volunteers", **env)`.

    Returns the process and its database name; every process started is stopped at the end of the test.
    """
    started: list[ServiceProcess] = []

    def start(name: str, **env: str) -> tuple[ServiceProcess, str]:
        db_name = f"{namespace}_{name}_process"
        full = {
            "AMQP_URL": vhost.url,
            "MONGODB_URL": mongodb_url,
            "SCIWEEK_NAMESPACE": namespace,
            "SCIWEEK_MONGODB_DB": db_name,
            "SCIWEEK_PROGRAMME_FILE": str(programme_file),
            "SCIWEEK_LOG_LEVEL": "WARNING",
            **env,
        }
        process = ServiceProcess(name, free_port(), full, tmp_path / f"{name}.log")
        started.append(process)
        process.start()
        process.wait_ready()
        return process, db_name

    try:
        yield start
    finally:
        for process in started:
            process.stop()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def settings_for(mongodb_url: str, vhost: RabbitVhost, namespace: str) -> SettingsFactory:
    def build(service: str, **overrides: Any) -> Settings:
        infra = {"mongodb_url": mongodb_url, "amqp_url": vhost.url, **overrides}
        return make_settings(service, namespace=namespace, **infra)

    return build


@pytest.fixture(scope="module")
def module_settings_for(mongodb_url: str, vhost: RabbitVhost) -> SettingsFactory:
    """`settings_for` for a service that serves a whole module: a namespace (database, exchange, queues) of its own."""
    namespace = f"m{uuid.uuid4().hex[:10]}"

    def build(service: str, **overrides: Any) -> Settings:
        infra = {"mongodb_url": mongodb_url, "amqp_url": vhost.url, **overrides}
        return make_settings(service, namespace=namespace, **infra)

    return build


@pytest.fixture
def auth(settings_for: SettingsFactory) -> Callable[..., dict[str, str]]:
    """Authorization headers for a role: auth("city", city="450100")."""
    settings = settings_for("reporting")

    def headers(role: Role, sub: str | None = None, **claims: Any) -> dict[str, str]:
        token = mint_token(settings, role=role, sub=sub or f"test-{role}", **claims)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the run (each test opens its own context: separate storage, offline state)."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A phone-sized browser context in Chinese (390×844, touch), closed after the test."""
    context = await browser.new_context(**PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")  # type: ignore[arg-type]
    yield context
    await context.close()
