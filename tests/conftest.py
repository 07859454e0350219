"""Session-wide real infrastructure: one SecantusDB process and one RabbitMQ vhost per test run."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.auth import Role, mint_token
from shared.embedded import SecantusServer
from shared.settings import Settings
from shared.testing import RabbitVhost, make_settings


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    server = SecantusServer(":memory:")
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def vhost() -> Iterator[RabbitVhost]:
    vhost = RabbitVhost()
    vhost.create()
    yield vhost
    vhost.delete()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def settings_for(mongodb_url: str, vhost: RabbitVhost, namespace: str) -> SettingsFactory:
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
