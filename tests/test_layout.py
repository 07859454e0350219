"""The code's layering: the common library knows no service and no composition root."""

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared.app import API_PREFIX
from shared.auth import current_principal
from shared.http import rate_limited
from shared.settings import REPO_ROOT, SERVICES, Settings


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_shared_imports_no_service_and_not_the_composition_root() -> None:
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in {"services", "sciweek"}
        )
        for path in (REPO_ROOT / "shared").rglob("*.py")
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from services.reporting import replay\n    import sciweek.cli\n")
    assert imported_modules(module) == {"services.reporting", "sciweek.cli"}


SHAPE = {"api", "service", "domain", "store.py", "main.py", "__init__.py"}
# events it consumes; the apps and pages it serves (static files, server-rendered pages' templates); notes
OPTIONAL = {"consumers.py", "static", "app", "templates", "README.md"}


def test_every_service_has_the_same_inner_shape() -> None:
    for service in ("registration", "exhibits", "volunteers", "reporting"):
        root = REPO_ROOT / "services" / service
        entries = {p.name for p in root.iterdir() if p.name != "__pycache__"}
        assert SHAPE <= entries, (service, sorted(SHAPE - entries))
        assert entries <= SHAPE | OPTIONAL, (service, sorted(entries - SHAPE - OPTIONAL))
        for package in ("api", "service", "domain"):
            assert (root / package / "__init__.py").is_file(), (service, package)


def test_domain_modules_import_no_infrastructure() -> None:
    infrastructure = {"fastapi", "pymongo", "aio_pika", "starlette", "httpx"}
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(m for m in imported_modules(path) if m.split(".")[0] in infrastructure)
        for path in (REPO_ROOT / "services").glob("*/domain/*.py")
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_services_emit_events_one_way() -> None:
    """Every service emits through `Runtime.events.emit` with a contract object: no envelope built by hand."""
    direct = {"shared.outbox": "add_to_outbox", "shared.envelope": "new_event"}
    offenders = []
    for path in (REPO_ROOT / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in direct:
                if any(alias.name == direct[node.module] for alias in node.names):
                    offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []


def api_routes(router: Any) -> Iterator[APIRoute]:
    """Every API route of `router`, through the routers it includes."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI keeps an included router whole
            yield from api_routes(route.original_router)


def dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from dependencies(sub)


def test_every_api_route_needs_a_token_or_is_rate_limited() -> None:
    unguarded = []
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.main").create_app(Settings(service=service))
        for route in api_routes(app.router):
            calls = set(dependencies(route.dependant))
            if route.path.startswith(API_PREFIX) and not {current_principal, rate_limited} & calls:
                unguarded.append(f"{service} {sorted(route.methods)} {route.path}")
    assert unguarded == []


def test_use_cases_see_a_unit_of_work_not_the_runtime() -> None:
    """service/ and domain/ never import shared.app (the Runtime, HTTP wiring) nor the service's api/."""
    offenders = {}
    for path in (REPO_ROOT / "services").glob("*/[sd][eo]*/*.py"):
        if path.parent.name not in {"service", "domain"}:
            continue
        service = path.parent.parent.name
        bad = {m for m in imported_modules(path) if m == "shared.app" or m.startswith(f"services.{service}.api")}
        if bad:
            offenders[str(path.relative_to(REPO_ROOT))] = sorted(bad)
    assert offenders == {}
