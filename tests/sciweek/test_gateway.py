"""One public origin: the route table derived from the services' code; the nginx gateway and Ingress made from it."""

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sciweek.embedded import free_port
from sciweek.gateway import (
    API_PREFIX,
    COMMON_API,
    INGRESS_FILE,
    INTERNAL,
    LANDING_SERVICE,
    NGINX_FILE,
    SHARED_FILES,
    NginxGateway,
    Route,
    RouteConflict,
    generated_files,
    nginx_binary,
    nginx_server,
    owner,
    route_table,
    sample,
    service_paths,
)
from shared.settings import SERVICES
from tests.conftest import ProcessStarter

Paths = dict[str, tuple[list[str], list[str]]]
COMMON = (*INTERNAL, *SHARED_FILES, "/")  # every service serves these (/ is its landing page)


@pytest.fixture(scope="module")
def paths() -> Paths:
    return service_paths()


@pytest.fixture(scope="module")
def routes(paths: Paths) -> list[Route]:
    return route_table(paths)


def served(paths: Paths) -> list[tuple[str, str]]:
    """(service, concrete path) for every route of the four OpenAPI documents and every app or page path."""
    found = []
    for name, (api, other) in paths.items():
        found += [(name, sample(p)) for p in api if p not in COMMON_API]
        found += [(name, sample(p)) for p in other if not any(p == c or p.startswith(c + "/") for c in COMMON)]
    return found


def test_every_api_and_app_path_goes_to_its_service_by_exactly_one_route(paths: Paths, routes: list[Route]) -> None:
    assert sum(len(api) for api, _ in paths.values()) > 50, "the services' OpenAPI paths were not found"
    for path in COMMON_API:  # answered by every service for itself: the gateway shows the landing service's
        assert all(path in api for api, _ in paths.values())
        assert [r.service for r in owner(routes, path)] == [LANDING_SERVICE]
    for name, path in served(paths):
        matching = owner(routes, path)
        assert [r.service for r in matching] == [name], f"{path} ({name}) matches {matching}"
    assert len({r.path for r in routes}) == len(routes), "a path appears twice in the table"


def test_the_apps_and_each_services_docs_are_routed(routes: list[Route]) -> None:
    assert [r.service for r in owner(routes, "/dashboard")] == ["reporting"]
    for name in SERVICES:
        assert [r.service for r in owner(routes, f"/{name}/docs")] == [name]
        assert [r.service for r in owner(routes, f"/{name}/openapi.json")] == [name]
    assert [r.service for r in owner(routes, f"{API_PREFIX}/clock")] == ["reporting"]  # the dashboard's clock
    assert [r.service for r in owner(routes, "/")] == ["reporting"]  # every service has one; the gateway shows this
    for shared_files in ("/vendor/x.js", "/lib/api.js"):  # the same files in every service: one of them serves
        assert len(owner(routes, shared_files)) == 1
    for internal in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
        assert owner(routes, internal) == [], f"{internal} is each service's own, not the gateway's"


def test_a_shared_resource_is_split_by_the_longest_distinct_prefix() -> None:
    paths: Paths = {
        "volunteers": ([f"{API_PREFIX}/flags", f"{API_PREFIX}/flags/open", f"{API_PREFIX}/flags/open/{{id}}"], []),
        "reporting": ([f"{API_PREFIX}/flags/summary", f"{API_PREFIX}/progress"], ["/dashboard"]),
    }
    assert route_table(paths) == [
        Route(f"{API_PREFIX}/flags", "volunteers", exact=True),
        Route(f"{API_PREFIX}/flags/open", "volunteers"),
        Route(f"{API_PREFIX}/flags/summary", "reporting"),
        Route(f"{API_PREFIX}/progress", "reporting"),
        Route("/dashboard", "reporting"),
    ]


def test_conflicts_the_gateway_cannot_route_are_refused() -> None:
    with pytest.raises(RouteConflict, match="/api/v1/flags is served by"):
        route_table({"volunteers": ([f"{API_PREFIX}/flags"], []), "reporting": ([f"{API_PREFIX}/flags"], [])})
    with pytest.raises(RouteConflict, match="would also match"):
        route_table(
            {"volunteers": ([f"{API_PREFIX}/flags/{{id}}"], []), "reporting": ([f"{API_PREFIX}/flags/open"], [])}
        )
    with pytest.raises(RouteConflict, match="/app is served by"):
        route_table({"volunteers": ([], ["/app"]), "registration": ([], ["/app"]), "reporting": ([], [])})
    with pytest.raises(RouteConflict, match="every service serves /new"):
        route_table({name: ([], ["/new"]) for name in SERVICES})


def test_the_committed_gateway_files_are_what_the_table_makes(routes: list[Route]) -> None:
    for path, text in generated_files(routes).items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is out of date: run `sciweek gateway --write`"


def nginx_locations(config: str) -> list[tuple[bool, str, str]]:
    """(exact, path, service) of every proxied location of a generated server block."""
    pattern = r"location (= )?(\S+) \{ proxy_pass http://sciweek_(\w+); \}"
    return [(bool(m.group(1)), m.group(2), m.group(3)) for m in re.finditer(pattern, config)]


def nginx_choice(locations: list[tuple[bool, str, str]], path: str) -> list[str]:
    """The services of the locations nginx picks for `path`: an exact match, else the longest prefix."""
    exact = [service for is_exact, p, service in locations if is_exact and p == path]
    if exact:
        return exact
    prefixes = [(p, service) for is_exact, p, service in locations if not is_exact and path.startswith(p)]
    longest = max((len(p) for p, _ in prefixes), default=0)
    return [service for p, service in prefixes if len(p) == longest]


def ingress_choice(paths: list[dict[str, Any]], path: str) -> list[str]:
    """The backends an Ingress picks for `path`: Exact, else the longest Prefix match by whole segments."""
    exact = [p["backend"]["service"]["name"] for p in paths if p["pathType"] == "Exact" and p["path"] == path]
    if exact:
        return exact
    prefixes = [
        (p["path"], p["backend"]["service"]["name"])
        for p in paths
        if p["pathType"] == "Prefix" and (path == p["path"] or path.startswith(p["path"].rstrip("/") + "/"))
    ]
    longest = max((len(p) for p, _ in prefixes), default=0)
    return [service for p, service in prefixes if len(p) == longest]


def test_the_nginx_gateway_and_the_ingress_route_every_openapi_path_once(paths: Paths) -> None:
    locations = nginx_locations(NGINX_FILE.read_text(encoding="utf-8"))
    ingress = yaml.safe_load(INGRESS_FILE.read_text(encoding="utf-8"))
    ingress_paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    for name, path in served(paths):
        assert nginx_choice(locations, path) == [name], f"nginx sends {path} to {nginx_choice(locations, path)}"
        assert ingress_choice(ingress_paths, path) == [name], f"the Ingress sends {path} elsewhere"
    assert nginx_choice(locations, "/api/v1/nothing-here") == []
    assert ingress_choice(ingress_paths, "/api/v1/nothing-here") == []


def test_the_generated_configuration_is_accepted_by_nginx(routes: list[Route], tmp_path: Path) -> None:
    binary = nginx_binary()
    assert binary, "nginx is not installed: ./scripts/test installs it (apt-get install nginx)"
    config = tmp_path / "nginx.conf"
    server = nginx_server(routes, {name: "127.0.0.1:1" for name in SERVICES}, "127.0.0.1:1")
    config.write_text(f"events {{}}\nhttp {{\n{server}\n}}\npid {tmp_path / 'pid'};\n", encoding="utf-8")
    result = subprocess.run(
        [binary, "-t", "-q", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_through_the_gateway_api_calls_and_apps_reach_their_services(
    service_process: ProcessStarter, routes: list[Route], tmp_path: Path
) -> None:
    registration, _ = service_process("registration")
    reporting, _ = service_process("reporting")
    down = f"127.0.0.1:{free_port()}"  # nothing listens: a request routed there is a 502, not a 404
    upstreams = {"registration": f"127.0.0.1:{registration.port}", "reporting": f"127.0.0.1:{reporting.port}"}
    gateway = NginxGateway(routes, {"exhibits": down, "volunteers": down, **upstreams}, free_port(), tmp_path / "gw")
    gateway.start()
    try:
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            listing = client.get("/api/v1/public/opendays")
            assert listing.status_code == 200 and isinstance(listing.json().get("items", listing.json()), list)
            page = client.get("/dashboard")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert "registration" in client.get("/registration/openapi.json").json()["info"]["title"]
            assert "reporting" in client.get("/reporting/openapi.json").json()["info"]["title"]
            assert "/registration/openapi.json" in client.get("/registration/docs").text
            assert client.get("/api/v1/assignments").status_code == 502  # volunteers', and volunteers is down
            unknown = client.get("/api/v1/nothing-here")
            assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
            assert client.get("/healthz").json() == {"status": "ok"}
            landing = client.get("/")  # the one origin's own page: every service's apps and docs
            assert landing.status_code == 200 and "text/html" in landing.headers["content-type"]
            for href in ('href="book/"', 'href="app/"', 'href="expo/"', 'href="dashboard/"', 'href="volunteers/docs"'):
                assert href in landing.text, href
            assert client.get("/book/").status_code == 200  # a link of it, through the gateway
    finally:
        gateway.stop()
