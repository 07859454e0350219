"""The production-like container setup (docker-compose.yml, Dockerfile, deploy/), checked without a Docker engine."""

import fnmatch
import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from pydantic import AliasChoices, AliasPath, ValidationError

from shared.settings import DEFAULT_PORTS, DEV_JWT_SECRET, DEV_QR_SECRET, SERVICES, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ENABLED_PLUGINS_FILE = ROOT / "deploy" / "rabbitmq" / "enabled_plugins"
INFRASTRUCTURE = ("rabbitmq", "mongo")


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a YAML mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services mapping"
    return found


def service(services: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def environment(definition: dict[str, Any]) -> dict[str, str]:
    """A service's environment, from either the mapping or the list (`NAME=value`) syntax."""
    raw = definition.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) for item in raw)
        return {p[0]: p[1] if len(p) > 1 else "" for p in pairs}
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def argv(value: str | list[Any] | None) -> list[str]:
    """`command`, `entrypoint` or a healthcheck `test`, in string or list form, as a list of words."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def published_ports(definition: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) pairs from the short ("8001:8001") or the long syntax."""
    pairs: set[tuple[int, int]] = set()
    for entry in definition.get("ports") or []:
        if isinstance(entry, dict):
            pairs.add((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        container = int(parts[-1])
        host = int(parts[-2]) if len(parts) >= 2 else container
        pairs.add((host, container))
    return pairs


def accepted_environment_names() -> set[str]:
    """Every environment variable name Settings reads, derived from its fields (case-insensitive, as read)."""
    prefix = str(Settings.model_config.get("env_prefix") or "")
    names: set[str] = set()
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias or info.alias
        if alias is None:
            names.add(f"{prefix}{field_name}".upper())
            continue
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            name = choice.path[0] if isinstance(choice, AliasPath) else choice
            names.add(str(name).upper())
    return names


REFERENCE = re.compile(r"\$\{(\w+)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASS\b|TOKEN|_KEY\b")
# what an operator puts in .env: the variables compose requires (`${NAME:?message}`)
OPERATOR_ENV = {
    "SCIWEEK_JWT_SECRET": "kS0m3-r4nd0m-jwt-s3cr3t-f0r-th1s-d3pl0ym3nt-only",
    "SCIWEEK_REGISTRATION_QR_SECRET": "an0th3r-r4nd0m-qr-s3cr3t-f0r-th1s-d3pl0ym3nt",
    "RABBITMQ_USER": "sciweek",
    "RABBITMQ_PASSWORD": "r4bb1t-p4ss",
    "GRAFANA_ADMIN_PASSWORD": "gr4f4n4-p4ss",
}


def interpolate(value: str, provided: dict[str, str] = OPERATOR_ENV) -> str:
    """Compose's `${NAME:-default}` / `${NAME-default}` (as if NAME were unset), `${NAME:?message}` (from
    `provided`, an error like compose's if it is not there) and `$$`."""

    def resolve(m: re.Match[str]) -> str:
        name, default, required = m.group(1), m.group(3), m.group(4)
        if required is not None:
            assert provided.get(name), f"compose refuses to start without {name}: {m.group(5)}"
            return provided[name]
        return default or ""

    return REFERENCE.sub(resolve, value).replace("$$", "$")


def test_settings_field_derivation_sees_the_aliases() -> None:
    names = accepted_environment_names()
    assert {"AMQP_URL", "MONGODB_URL", "SCIWEEK_PORT", "SCIWEEK_HOST", "SCIWEEK_JWT_SECRET"} <= names
    assert "SCIWEEK_SERVICE" in names


def test_compose_declares_every_service(services: dict[str, dict[str, Any]]) -> None:
    missing = [name for name in SERVICES if name not in services]
    assert not missing, f"services missing from docker-compose.yml: {missing}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_publishes_its_port(services: dict[str, dict[str, Any]], name: str) -> None:
    definition = service(services, name)
    port = DEFAULT_PORTS[name]
    assert (port, port) in published_ports(definition), f"{name} does not publish {port}:{port}"
    assert environment(definition).get("SCIWEEK_PORT") == str(port), f"{name}: SCIWEEK_PORT is not {port}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_names_are_read_by_the_code(services: dict[str, dict[str, Any]], name: str) -> None:
    accepted = accepted_environment_names()
    env = environment(service(services, name))
    unknown = sorted(key for key in env if key.upper() not in accepted)
    assert not unknown, f"{name} sets environment variables no setting reads: {unknown}"
    for required in ("AMQP_URL", "MONGODB_URL", "SCIWEEK_HOST", "SCIWEEK_PORT", "SCIWEEK_JWT_SECRET", "SCIWEEK_ENV"):
        assert required in env, f"{name} does not set {required}"
    assert env["SCIWEEK_HOST"] == "0.0.0.0", f"{name} must listen on all interfaces in its container"
    assert env["SCIWEEK_ENV"] == "production", f"{name} must run in production mode"
    assert ("SCIWEEK_REGISTRATION_QR_SECRET" in env) == (name == "registration"), "only registration signs tickets"


def use_compose_environment(
    monkeypatch: pytest.MonkeyPatch, services: dict[str, dict[str, Any]], name: str, operator: dict[str, str]
) -> dict[str, str]:
    """This process's environment as compose gives the service (nothing of ours leaks in); the values set."""
    accepted = accepted_environment_names()
    for key in list(os.environ):
        if key.upper() in accepted:
            monkeypatch.delenv(key)
    env = {key: interpolate(value, operator) for key, value in environment(service(services, name)).items()}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_yields_valid_settings(
    services: dict[str, dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = use_compose_environment(monkeypatch, services, name, OPERATOR_ENV)
    settings = Settings(service=name)
    assert settings.port == DEFAULT_PORTS[name]
    assert settings.host == "0.0.0.0"
    assert settings.env == "production"
    assert settings.amqp_url == env["AMQP_URL"]
    assert settings.mongodb_url == env["MONGODB_URL"]
    assert settings.jwt_secret.get_secret_value() == OPERATOR_ENV["SCIWEEK_JWT_SECRET"]
    gateway_address = services["gateway"]["networks"]["default"]["ipv4_address"]
    assert [str(n) for n in settings.trusted_proxies] == [f"{gateway_address}/32"]  # the gateway only


@pytest.mark.parametrize("name", SERVICES)
def test_service_refuses_the_development_secrets_from_the_operator(
    services: dict[str, dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    careless = {**OPERATOR_ENV, "SCIWEEK_JWT_SECRET": DEV_JWT_SECRET, "SCIWEEK_REGISTRATION_QR_SECRET": DEV_QR_SECRET}
    use_compose_environment(monkeypatch, services, name, careless)
    with pytest.raises(ValidationError, match="SCIWEEK_JWT_SECRET"):
        Settings(service=name)


def test_compose_has_no_fallback_for_a_secret() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    references = [(m.group(1), m.group(0)) for m in REFERENCE.finditer(text)]
    secrets = [(name, ref) for name, ref in references if SECRET_NAME.search(name)]
    assert {name for name, _ in secrets} >= {
        "SCIWEEK_JWT_SECRET",
        "SCIWEEK_REGISTRATION_QR_SECRET",
        "RABBITMQ_PASSWORD",
    }
    optional = [ref for _, ref in secrets if ":?" not in ref]
    assert not optional, f"secrets must be required (${{NAME:?message}}), never defaulted: {optional}"
    assert "guest:guest" not in text, "the broker's guest account must not be what the services use"
    for name in ("RABBITMQ_USER", *OPERATOR_ENV):
        assert f"${{{name}:?" in text, f"compose does not require {name}"
    for name, ref in references:
        assert name in OPERATOR_ENV or ":?" not in ref, f"{name} is required but OPERATOR_ENV does not set it"


def test_interpolation_resolves_like_compose() -> None:
    assert interpolate("${A:-x}-${B-y}-$$HOME", {}) == "x-y-$HOME"
    assert interpolate("u:${P:?set P}@h", {"P": "secret"}) == "u:secret@h"
    with pytest.raises(AssertionError, match="set P"):
        interpolate("u:${P:?set P}@h", {})


@pytest.mark.parametrize("name", SERVICES)
def test_service_command_serves_itself(services: dict[str, dict[str, Any]], name: str) -> None:
    command = argv(service(services, name).get("command"))
    assert command == ["sciweek", "serve", name], f"{name} runs {command}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_waits_for_healthy_infrastructure(services: dict[str, dict[str, Any]], name: str) -> None:
    depends_on = service(services, name).get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on must be the long form with conditions"
    for dependency in INFRASTRUCTURE:
        assert dependency in depends_on, f"{name} does not depend on {dependency}"
        condition = (depends_on[dependency] or {}).get("condition")
        assert condition == "service_healthy", f"{name} waits for {dependency} with {condition!r}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_healthcheck_hits_its_own_healthz(services: dict[str, dict[str, Any]], name: str) -> None:
    healthcheck = service(services, name).get("healthcheck") or {}
    test = " ".join(argv(healthcheck.get("test")))
    assert f"127.0.0.1:{DEFAULT_PORTS[name]}/healthz" in test, f"{name} healthcheck: {test!r}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_built_from_the_repo_dockerfile(services: dict[str, dict[str, Any]], name: str) -> None:
    build = service(services, name).get("build")
    assert build is not None, f"{name} is not built from the repo"
    context = build if isinstance(build, str) else build.get("context")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert context == ".", f"{name}: build context is {context!r}"
    assert (ROOT / dockerfile).is_file(), f"{name}: {dockerfile} does not exist"


def test_mongo_runs_as_an_initiated_replica_set(services: dict[str, dict[str, Any]]) -> None:
    mongo = service(services, "mongo")
    command = argv(mongo.get("command"))
    assert "--replSet" in command, f"mongo runs without --replSet: {command}"
    replica_set = command[command.index("--replSet") + 1]
    for name in SERVICES:
        url = environment(service(services, name)).get("MONGODB_URL", "")
        assert parse_qs(urlsplit(url).query).get("replicaSet") == [replica_set], f"{name}: MONGODB_URL {url!r}"
    health = " ".join(argv((mongo.get("healthcheck") or {}).get("test")))
    assert "mongosh" in health, f"mongo healthcheck does not run mongosh: {health!r}"
    assert "rs.status()" in health or "isWritablePrimary" in health, f"mongo healthcheck ignores the set: {health!r}"

    init = service(services, "mongo-init")
    script = " ".join(argv(init.get("entrypoint")) + argv(init.get("command")))
    assert "rs.initiate(" in script and f"_id:'{replica_set}'" in script, "mongo-init does not initiate the set"
    assert "host:'mongo:27017'" in script, "mongo-init: the member must be mongo:27017, as the services see it"
    assert str(init.get("restart")) == "no", "mongo-init is one-shot"
    assert "mongo" in (init.get("depends_on") or {}), "mongo-init does not depend on mongo"


def test_rabbitmq_enables_management_and_prometheus(services: dict[str, dict[str, Any]]) -> None:
    rabbitmq = service(services, "rabbitmq")
    plugins = set(re.findall(r"\w+", ENABLED_PLUGINS_FILE.read_text(encoding="utf-8")))
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= plugins, f"enabled_plugins: {plugins}"
    mounts = [str(v).split(":") for v in rabbitmq.get("volumes") or []]
    assert ["./deploy/rabbitmq/enabled_plugins", "/etc/rabbitmq/enabled_plugins", "ro"] in mounts
    ports = {container for _, container in published_ports(rabbitmq)}
    assert {5672, 15672, 15692} <= ports, f"rabbitmq publishes {ports}"
    health = argv((rabbitmq.get("healthcheck") or {}).get("test"))
    assert "rabbitmq-diagnostics" in health and "ping" in health, f"rabbitmq healthcheck: {health}"


def scrape_targets(config: dict[str, Any]) -> set[tuple[str, str]]:
    """(target, metrics path) for every static target in a Prometheus configuration."""
    found: set[tuple[str, str]] = set()
    for job in config.get("scrape_configs") or []:
        path = job.get("metrics_path", "/metrics")
        for static in job.get("static_configs") or []:
            found.update((target, path) for target in static.get("targets") or [])
    return found


def test_prometheus_scrapes_every_service_and_the_broker(services: dict[str, dict[str, Any]]) -> None:
    prometheus = service(services, "prometheus")
    mounts = [str(v).split(":")[:2] for v in prometheus.get("volumes") or []]
    assert ["./deploy/prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml"] in mounts
    targets = scrape_targets(load_yaml(PROMETHEUS_FILE))
    for name in SERVICES:
        assert (f"{name}:{DEFAULT_PORTS[name]}", "/metrics") in targets, f"Prometheus does not scrape {name}"
    assert ("rabbitmq:15692", "/metrics") in targets, "Prometheus does not scrape RabbitMQ"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_builds_the_project_from_its_sources() -> None:
    steps = dockerfile_instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for kind, args in steps if kind == "RUN"]
    assert any("pip install" in r and "uv==0.13.8" in r for r in runs), "uv 0.13.8 is not installed with pip"
    copies = [(i, args.split()) for i, (kind, args) in enumerate(steps) if kind == "COPY"]
    copied = {src.rstrip("/") for _, words in copies for src in words[:-1] if not src.startswith("--")}
    assert {"pyproject.toml", "uv.lock", "README.md", "shared", "services", "config"} <= copied
    installs = [i for i, (kind, args) in enumerate(steps) if kind == "RUN" and "uv sync" in args]
    project_installs = [i for i in installs if "--no-install-project" not in steps[i][1]]
    assert project_installs, "no `uv sync` installs the project itself"
    sources_copied = max(i for i, words in copies if {"shared/", "services/"} & set(words))
    assert project_installs[-1] > sources_copied, "the project is installed before its sources are copied"
    assert all("--frozen" in steps[i][1] and "--no-dev" in steps[i][1] for i in installs)
    users = [args for kind, args in steps if kind == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as root"
    envs = " ".join(args for kind, args in steps if kind == "ENV")
    assert "PATH=/app/.venv/bin:$PATH" in envs
    assert steps[-1] == ("CMD", '["sciweek", "serve", "reporting"]')


def test_dockerignore_keeps_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ".venv" in patterns and ".git" in patterns, "the local virtualenv or .git would be sent to the build"
    needed = ["pyproject.toml", "uv.lock", "README.md", "shared", "services", "config"]
    for path in needed:
        assert (ROOT / path).exists(), f"{path} is copied into the image but does not exist"
        ignored = [p for p in patterns if not p.startswith("!") and fnmatch.fnmatch(path, p.removeprefix("**/"))]
        assert not ignored, f"{path} is copied into the image but .dockerignore excludes it: {ignored}"


GRAFANA_DIR = ROOT / "deploy" / "grafana"


def exported_metric_names() -> set[str]:
    """Every sample name the services expose: the technical metrics and reporting's business figures."""
    from services.reporting.service.business_metrics import BusinessMetrics
    from shared.metrics import Metrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names = {
        family.name + suffix
        for family in Metrics("reporting").registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }
    collector = BusinessMetrics()
    collector.by_city = {"all": {}}
    collector.targets = [("visits", 0.0, False)]
    return names | {s.name for family in collector.collect() for s in family.samples}


def test_grafana_is_provisioned_from_the_repo(services: dict[str, dict[str, Any]]) -> None:
    grafana = service(services, "grafana")
    mounts = {tuple(str(v).split(":")[:2]) for v in grafana.get("volumes") or []}
    assert ("./deploy/grafana/provisioning", "/etc/grafana/provisioning") in mounts
    assert (3000, 3000) in published_ports(grafana)
    assert "prometheus" in (grafana.get("depends_on") or {})

    datasources = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    prometheus = next(d for d in datasources if d["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090" and (9090, 9090) in published_ports(
        service(services, "prometheus")
    )
    providers = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "sciweek.yml")["providers"]
    container_path = providers[0]["options"]["path"]
    host_dir = next(h for h, c in mounts if c == container_path)
    dashboards = list((ROOT / host_dir).glob("*.json"))
    assert dashboards, f"no dashboard JSON in {host_dir}"


def test_grafana_dashboard_queries_metrics_the_services_export() -> None:
    import json

    exported = exported_metric_names()
    datasources = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    uids = {d["uid"] for d in datasources}
    for path in (GRAFANA_DIR / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] in uids, f"{path.name}: panel {panel['title']} has an unknown datasource"
            for target in panel["targets"]:
                for name in re.findall(r"\bsciweek_\w+", target["expr"]):
                    assert name in exported, f"{path.name}: {panel['title']} queries {name}, which nothing exports"


def test_topology_is_declared_before_any_service_starts(services: dict[str, dict[str, Any]]) -> None:
    topology = services["topology"]
    assert topology["command"] == ["sciweek", "topology"]
    assert topology["restart"] == "no"
    assert topology["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    for name in SERVICES:
        assert services[name]["depends_on"]["topology"]["condition"] == "service_completed_successfully", name


def test_gateway_serves_the_generated_routes_in_front_of_every_service(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    from ipaddress import ip_address, ip_network

    from sciweek.gateway import GATEWAY_PORT, NGINX_FILE

    gateway = service(services, "gateway")
    mounts = [str(v).split(":") for v in gateway.get("volumes") or []]
    assert [f"./{NGINX_FILE.relative_to(ROOT)}", "/etc/nginx/conf.d/default.conf", "ro"] in mounts
    assert (GATEWAY_PORT, GATEWAY_PORT) in published_ports(gateway)
    config = NGINX_FILE.read_text(encoding="utf-8")
    assert f"listen {GATEWAY_PORT};" in config
    for name in SERVICES:
        assert f"server {name}:{DEFAULT_PORTS[name]};" in config, f"the gateway does not forward to {name}"
        condition = (gateway.get("depends_on") or {}).get(name, {}).get("condition")
        assert condition == "service_healthy", f"the gateway waits for {name} with {condition!r}"
    assert "/healthz" in " ".join(argv((gateway.get("healthcheck") or {}).get("test")))
    ipam = compose["networks"]["default"]["ipam"]["config"][0]
    address = ip_address(gateway["networks"]["default"]["ipv4_address"])
    assert address in ip_network(ipam["subnet"]), "the gateway's address is outside the network"
    assert address not in ip_network(ipam["ip_range"]), "another container could be given the gateway's address"
