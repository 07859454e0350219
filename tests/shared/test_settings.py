"""Settings and the programme file: validated at start-up with a clear message."""

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from sciweek.embedded import free_port
from shared.auth import TokenVerifier, mint_token
from shared.problems import Problem
from shared.programme import load_programme
from shared.settings import DEV_JWT_SECRET, DEV_QR_SECRET, REPO_ROOT, Settings, describe_error


def test_defaults_follow_the_service() -> None:
    settings = Settings(service="volunteers")
    assert settings.mongodb_db == "sciweek_volunteers"
    assert settings.port == 8003
    assert settings.exchange == "sciweek.events" and settings.queue == "sciweek.volunteers"


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://u:p@broker:5672/x")
    monkeypatch.setenv("MONGODB_URL", "mongodb://db:27017/?replicaSet=rs0")
    monkeypatch.setenv("SCIWEEK_PREFETCH", "7")
    settings = Settings(service="reporting")
    assert (settings.amqp_url, settings.mongodb_url, settings.prefetch) == (
        "amqp://u:p@broker:5672/x",
        "mongodb://db:27017/?replicaSet=rs0",
        7,
    )


def test_bad_value_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCIWEEK_PORT", "eighty")
    monkeypatch.setenv("AMQP_URL", "http://not-amqp")
    with pytest.raises(ValidationError) as caught:
        Settings(service="reporting")
    message = describe_error(caught.value)
    assert "SCIWEEK_PORT" in message and "AMQP_URL must start with amqp://" in message


def test_rs256_needs_a_public_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCIWEEK_JWT_ALGORITHMS", '["RS256"]')
    with pytest.raises(ValidationError, match="SCIWEEK_JWT_PUBLIC_KEY"):
        Settings(service="reporting")


def test_serve_refuses_bad_settings_with_a_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sciweek.cli", "serve", "volunteers"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "SCIWEEK_PREFETCH": "-1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SCIWEEK_PREFETCH" in done.stderr and "配置无效" in done.stderr


PRODUCTION_SECRET = "c2NpZW5jZS13ZWVrLXByb2R1Y3Rpb24tc2VjcmV0LTQ3MTE"


def test_production_refuses_the_published_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCIWEEK_ENV", "production")
    for service, named in (
        ("registration", ["SCIWEEK_JWT_SECRET", "SCIWEEK_REGISTRATION_QR_SECRET"]),
        ("reporting", ["SCIWEEK_JWT_SECRET"]),  # only registration signs tickets
    ):
        with pytest.raises(ValidationError) as caught:
            Settings(service=service)
        message = describe_error(caught.value)
        assert message.splitlines()[1].strip().startswith(", ".join(named)), message
        assert DEV_JWT_SECRET not in message and DEV_QR_SECRET not in message
    monkeypatch.setenv("SCIWEEK_JWT_SECRET", "change-me-in-production-please-32bytes")  # the old compose fallback
    with pytest.raises(ValidationError, match="SCIWEEK_JWT_SECRET"):
        Settings(service="reporting")

    monkeypatch.setenv("SCIWEEK_JWT_SECRET", PRODUCTION_SECRET)
    monkeypatch.setenv("SCIWEEK_REGISTRATION_QR_SECRET", PRODUCTION_SECRET[::-1])
    production = Settings(service="registration")
    dev_token = mint_token(
        Settings(service="registration", env="development", jwt_secret=DEV_JWT_SECRET), role="admin", sub="x"
    )
    with pytest.raises(Problem) as refused:
        TokenVerifier(production).verify(dev_token)
    assert refused.value.status == 401
    assert Settings(service="registration", env="development", jwt_secret=DEV_JWT_SECRET).env == "development"


def test_a_cross_field_error_does_not_print_the_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCIWEEK_JWT_SECRET", "too-short-but-still-secret")
    with pytest.raises(ValidationError) as caught:
        Settings(service="reporting")
    message = describe_error(caught.value)
    assert "SCIWEEK_JWT_SECRET must be at least 32 bytes" in message
    assert "too-short-but-still-secret" not in message


def test_serve_in_production_refuses_the_development_secrets() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sciweek.cli", "serve", "registration"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "SCIWEEK_ENV": "production", "SCIWEEK_JWT_SECRET": PRODUCTION_SECRET},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SCIWEEK_REGISTRATION_QR_SECRET" in done.stderr and "production" in done.stderr
    assert PRODUCTION_SECRET not in done.stderr and DEV_QR_SECRET not in done.stderr


def test_trusted_proxies_and_the_setting_they_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCIWEEK_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")
    assert [str(n) for n in Settings(service="reporting").trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    monkeypatch.setenv("SCIWEEK_TRUSTED_PROXIES", '["192.168.0.0/16"]')
    assert [str(n) for n in Settings(service="reporting").trusted_proxies] == ["192.168.0.0/16"]
    assert Settings(service="reporting", trusted_proxies="").trusted_proxies == []
    monkeypatch.setenv("SCIWEEK_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ValidationError) as caught:
        Settings(service="reporting")
    assert "SCIWEEK_TRUSTED_PROXIES" in describe_error(caught.value)
    monkeypatch.delenv("SCIWEEK_TRUSTED_PROXIES")
    monkeypatch.setenv("SCIWEEK_TRUST_FORWARDED_FOR", "true")  # removed: loud, not silently ignored
    with pytest.raises(ValidationError) as caught:
        Settings(service="reporting")
    assert "SCIWEEK_TRUST_FORWARDED_FOR" in describe_error(caught.value)
    assert "SCIWEEK_TRUSTED_PROXIES" in describe_error(caught.value)


def test_reference_programme_loads() -> None:
    programme = load_programme(REPO_ROOT / "config" / "programme.toml")
    assert len(programme.cities) == 14
    assert programme.city("450100") is not None and programme.city("450100").name == "南宁"  # type: ignore[union-attr]
    assert programme.targets.commissioner_visits == 1000
    assert str(programme.deadlines.city_summary) == "2020-09-08"


def test_programme_quotas_must_add_up(tmp_path: Path) -> None:
    text = (REPO_ROOT / "config" / "programme.toml").read_text(encoding="utf-8")
    broken = tmp_path / "programme.toml"
    broken.write_text(text.replace("visit_quota = 100", "visit_quota = 101"), encoding="utf-8")
    with pytest.raises(ValidationError, match="add up"):
        load_programme(broken)


def test_up_without_a_broker_says_how_to_start_it() -> None:
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    done = subprocess.run(
        [sys.executable, "-m", "sciweek.cli", "up"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "AMQP_URL": closed},
        timeout=60,
    )
    assert done.returncode != 0
    assert "rabbitmq-server -detached" in done.stderr
