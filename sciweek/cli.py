"""The `sciweek` command: run the embedded system, serve one service, mint development tokens."""

import argparse
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from shared.settings import DEFAULT_PORTS, REPO_ROOT, SERVICES, Settings, describe_error

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    from fastapi import FastAPI

    from sciweek.embedded import Stack
    from sciweek.gateway import NginxGateway, Route


def _settings(service: str) -> Settings:
    try:
        return Settings(service=service)
    except ValidationError as exc:
        sys.exit(describe_error(exc))


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's forwarded-header options from SCIWEEK_TRUSTED_PROXIES (its own default trusts 127.0.0.1)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": [str(n) for n in settings.trusted_proxies]}


def service_app() -> "FastAPI":
    """The app of the service named by SCIWEEK_SERVICE, logging configured: what each uvicorn worker process imports."""
    import importlib

    from shared.app import configure_logging

    settings = _settings(os.environ.get("SCIWEEK_SERVICE", ""))
    configure_logging(settings)
    app: FastAPI = importlib.import_module(f"services.{settings.service}.main").create_app(settings)
    return app


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = _settings(args.service)
    # worker processes start afresh and import the app by name: the environment tells them which service
    os.environ["SCIWEEK_SERVICE"] = args.service
    uvicorn.run(
        "sciweek.cli:service_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        backlog=settings.backlog,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        **proxy_options(settings),
    )


def start_gateway(args: argparse.Namespace, stack: "Stack", routes: "Future[list[Route]]") -> "NginxGateway | None":
    """nginx on --gateway-port in front of the started services (and, with replicas, on each service's own port in
    front of its replicas), when nginx is installed; else says so."""
    from sciweek.gateway import NginxGateway, nginx_binary

    fronts = stack.ports if args.replicas > 1 else {}
    if not args.gateway_port and not fronts:
        return None
    if nginx_binary() is None:
        print("未安装 nginx，跳过网关 / nginx is not installed: no gateway (Debian: apt-get install nginx)")
        return None
    upstreams = {name: [f"127.0.0.1:{p.port}" for p in procs] for name, procs in stack.replicas.items()}
    runtime_dir = Path(args.data_dir).parent / "gateway"
    gateway = NginxGateway(routes.result(), upstreams, args.gateway_port, runtime_dir, fronts)
    try:
        gateway.start()
    except (OSError, RuntimeError) as exc:
        print(f"网关未启动 / the gateway did not start: {exc}", file=sys.stderr)
        return None
    return gateway


def up(args: argparse.Namespace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sciweek import preflight
    from sciweek.embedded import Stack, StartupError, spread_ports
    from sciweek.gateway import nginx_binary, route_table

    settings = _settings("reporting")
    data_dir = Path(args.data_dir)
    ports = {name: args.base_port + i for i, name in enumerate(SERVICES)}
    replica_ports = spread_ports(ports, args.replicas) if args.replicas > 1 else {n: [p] for n, p in ports.items()}
    wanted = {n: ps[0] for n, ps in replica_ports.items()}
    if args.replicas > 1:
        wanted = {f"{n}-{i + 1}": p for n, ps in replica_ports.items() for i, p in enumerate(ps)}
    if args.replicas > 1 and nginx_binary() is not None:
        wanted |= ports  # the gateway listens on each service's own port in front of its replicas
    findings = preflight.check(settings, wanted, data_dir)
    for finding in findings:
        print(("错误 / error: " if finding.fatal else "注意 / note: ") + finding.line, file=sys.stderr, flush=True)
    if any(f.fatal for f in findings):
        sys.exit(1)
    stack = Stack(
        settings.amqp_url,
        data_dir,
        ports=ports,
        log_dir=data_dir.parent / "logs",
        replicas=args.replicas,
        replica_ports=replica_ports,
    )
    count = f"每个服务 {args.replicas} 个副本 / {args.replicas} replicas each" if args.replicas > 1 else ""
    print(f"正在启动 SecantusDB 与四个服务 / starting SecantusDB and the four services … {count}", flush=True)
    stopping = False
    gateway = None

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGTERM, signal.SIGINT):  # SIGINT too: a shell's background job ignores it by default
        signal.signal(signum, request_stop)
    with ThreadPoolExecutor(1) as pool:
        try:
            routes = pool.submit(route_table)  # the gateway's table, from the services' code, while they start
            stack.start()
            gateway = start_gateway(args, stack, routes)
            _print_addresses(stack, data_dir, gateway)
            _supervise(stack, gateway, lambda: stopping, restart=args.replicas > 1)
        except StartupError as exc:
            print(f"错误 / error: {exc}", file=sys.stderr, flush=True)
            stopping = True
            failed = True
        except KeyboardInterrupt:
            failed = False
        else:
            failed = False
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, signal.SIG_IGN)  # stopping is not interrupted by a second Ctrl-C
            print("\n正在停止 / stopping …", flush=True)
            if gateway is not None:
                gateway.stop()
            stack.stop()
            print("已停止 / stopped.", flush=True)
    if failed:
        sys.exit(1)


def _supervise(stack: "Stack", gateway: "NginxGateway | None", stopping: "Callable[[], bool]", restart: bool) -> None:
    """Wait until asked to stop. One replica of several that dies is started again (its peers carry the load
    meanwhile); a lone service that dies, or the gateway, ends the run."""
    while not stopping():
        time.sleep(0.5)
        if gateway is not None and gateway.process is not None and gateway.process.poll() is not None:
            print("网关意外退出 / the gateway exited (see gateway/error.log)", file=sys.stderr)
            return
        dead = stack.dead_replicas()
        if dead and not restart:
            print(f"服务意外退出 / service exited: {', '.join(stack.dead())} (see logs)", file=sys.stderr)
            return
        for proc in dead:
            code = proc.process.returncode if proc.process is not None else None
            print(f"副本退出，正在重启 / replica {proc.name}:{proc.port} exited ({code}): restarting", flush=True)
            proc.start()


def _print_addresses(stack: "Stack", data_dir: Path, gateway: "NginxGateway | None") -> None:
    print(f"\nMongoDB-wire (SecantusDB): {stack.db.uri}\n  data: {data_dir}")
    fronted = gateway is not None and bool(gateway.fronts)
    for name, procs in stack.replicas.items():
        url = f"http://127.0.0.1:{stack.ports[name]}" if fronted else procs[0].url
        replicas = f"  ({len(procs)} replicas: {', '.join(str(p.port) for p in procs)})" if len(procs) > 1 else ""
        print(f"  {name:<13} {url:<24} API docs: {url}/docs{replicas}")
        if len(procs) > 1 and not fronted:
            for proc in procs[1:]:
                print(f"  {'':<13} {proc.url}")
    if gateway is not None and gateway.port:
        print(f"  {'gateway':<13} {gateway.url:<24} one origin: /api/v1/…, the apps, /<service>/docs")
    print(f"  logs: {stack.log_dir}")
    dashboard = f"http://127.0.0.1:{stack.ports['reporting']}" if fronted else stack.services["reporting"].url
    print(f"看板 / dashboard:  {dashboard}/dashboard")
    print("演示数据 / demo data:  .venv/bin/sciweek demo")
    print("开发令牌 / dev token:  .venv/bin/sciweek token --role city --city 450100")
    print("按 Ctrl-C 停止 / press Ctrl-C to stop.", flush=True)


def gateway(args: argparse.Namespace) -> None:
    """Print the route table, or write the files made from it (compose's nginx block, the Ingress), or check them."""
    from sciweek.gateway import RouteConflict, describe, generated_files, route_table

    try:
        routes = route_table()
    except RouteConflict as exc:
        sys.exit(f"路由冲突 / route conflict: {exc}")
    files = generated_files(routes)
    stale = [path for path, text in files.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.write:
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    elif args.check:
        if stale:
            names = ", ".join(str(path.relative_to(REPO_ROOT)) for path in stale)
            sys.exit(f"out of date (run `sciweek gateway --write`): {names}")
        print("gateway files are up to date")
    else:
        print(describe(routes))


async def declare_topology(namespace_settings: Settings) -> list[str]:
    """Declare the exchange and every consuming service's queues and bindings; the services' names."""
    import importlib

    from shared.messaging import connect_first, declare_exchange, declare_subscriptions

    declared = []
    connection = await connect_first(namespace_settings)
    try:
        channel = await connection.channel()
        await declare_exchange(channel, namespace_settings)
        for name in SERVICES:
            try:
                routes = importlib.import_module(f"services.{name}.consumers").ROUTES
            except ModuleNotFoundError:
                continue
            service_settings = namespace_settings.model_copy(update={"service": name})
            await declare_subscriptions(channel, service_settings, routes)
            declared.append(name)
    finally:
        await connection.close()
    return declared


async def missing_topology(namespace_settings: Settings) -> list[str]:
    """The exchange and consumer queues `sciweek topology` declares that the broker does not have (passive checks)."""
    import importlib.util

    from aio_pika.exceptions import ChannelClosed

    from shared.messaging import connect_first

    expected = [("exchange", namespace_settings.exchange)]
    for name in SERVICES:
        if importlib.util.find_spec(f"services.{name}.consumers") is not None:
            expected.append(("queue", namespace_settings.model_copy(update={"service": name}).queue))
    missing = []
    connection = await connect_first(namespace_settings)
    try:
        for kind, entity in expected:
            channel = await connection.channel()  # a failed passive declaration closes its channel
            try:
                if kind == "exchange":
                    await channel.declare_exchange(entity, passive=True)
                else:
                    await channel.declare_queue(entity, passive=True)
                await channel.close()
            except ChannelClosed:
                missing.append(entity)
    finally:
        await connection.close()
    return missing


def topology(args: argparse.Namespace) -> None:
    """Prestart step: subscriptions exist before any event is published, whichever service starts first.

    With --wait it declares nothing and waits until they exist (a service's init container waits for the Job).
    """
    import asyncio

    settings = _settings("reporting")
    if args.wait is None:
        declared = asyncio.run(declare_topology(settings))
        print(f"topology declared; consumers: {', '.join(declared)}")
        return
    deadline = time.monotonic() + args.wait
    while True:
        try:
            missing = asyncio.run(missing_topology(settings))
        except (OSError, ConnectionError) as exc:  # the broker is not up yet
            missing = [f"the broker ({exc})"]
        if not missing:
            print("topology present")
            return
        if time.monotonic() > deadline:
            sys.exit(f"topology not declared after {args.wait:.0f}s: missing {', '.join(missing)}")
        time.sleep(2)


def token(args: argparse.Namespace) -> None:
    from shared.auth import mint_token

    settings = _settings("reporting")
    venues = [v for v in (args.venues or "").split(",") if v]
    if args.role == "city" and not args.city:
        sys.exit("--city is required for --role city")
    if args.role == "unit" and not args.org:
        sys.exit("--org is required for --role unit")
    print(
        mint_token(
            settings,
            role=args.role,
            sub=args.sub or f"dev-{args.role}",
            city=args.city,
            venues=venues,
            org=args.org,
            ttl=timedelta(hours=args.ttl_hours),
        )
    )


def rebuild(args: argparse.Namespace) -> None:
    """Replay the service's stored event log into fresh projections, with a progress bar; compare or swap."""
    import asyncio

    from tqdm import tqdm

    from services.reporting.service import replay
    from shared.mongo import connect_for

    settings = _settings(args.service)

    async def run() -> replay.Rebuild:
        client = connect_for(settings)
        try:
            db = client[settings.mongodb_db]
            with tqdm(total=await replay.count_events(db), unit="event", desc="重放 / replay") as bar:
                return await replay.rebuild(db, swap=args.swap, progress=bar.update)
        finally:
            await client.close()

    result = asyncio.run(run())
    print(f"{result.events} events -> {result.entities} entities, {result.scopes} counter scopes")
    for line in result.differences[:20]:
        print("  " + line)
    if result.identical:
        print("重建结果与在线投影一致 / rebuilt projections are identical to the live ones")
    elif result.swapped:
        print(f"{len(result.differences)} differences; the rebuilt projections replaced the live ones")
    else:
        sys.exit(f"{len(result.differences)} differences (run with --swap to replace the live projections)")


def demo(args: argparse.Namespace) -> None:
    from sciweek.demo import DemoError, run
    from shared.programme import load_programme

    settings = _settings("reporting")
    urls = {name: f"http://127.0.0.1:{port}" for name, port in DEFAULT_PORTS.items()}
    for item in args.url or []:
        service, _, url = item.partition("=")
        if service not in SERVICES or not url:
            sys.exit(f"--url takes SERVICE=URL with SERVICE one of {', '.join(SERVICES)}")
        urls[service] = url.rstrip("/")
    try:
        agree = run(urls, settings, load_programme(settings.programme_file), args)
    except DemoError as exc:
        sys.exit(f"演示中止 / demo stopped: {exc}")
    except httpx.TransportError as exc:
        sys.exit(f"服务不可达 / a service is not reachable ({exc}): start the system with ./scripts/run")
    if not agree:
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    from shared.auth import ROLES

    parser = argparse.ArgumentParser(prog="sciweek", description="sciweek 科技活动周运营平台")
    commands = parser.add_subparsers(dest="command", required=True)

    p_up = commands.add_parser("up", help="run SecantusDB and the four services (embedded default)")
    p_up.add_argument("--data-dir", default=str(REPO_ROOT / ".data" / "secantus"))
    p_up.add_argument("--gateway-port", type=int, default=8000, help="the one-origin nginx gateway's port (0: none)")
    p_up.add_argument("--base-port", type=int, default=DEFAULT_PORTS["registration"], help="first of four ports")
    p_up.add_argument(
        "--replicas",
        type=int,
        default=1,
        choices=range(1, 10),
        metavar="N",
        help="independent processes per service (1-9); with nginx each service's port balances over them",
    )
    p_up.set_defaults(run=up)

    p_demo = commands.add_parser(
        "demo",
        help="load a demo programme through the API and play its week on a rehearsal clock",
        description="Loads commissioners, villages, venues, exhibits and activities into the running system through "
        "the public HTTP API, then plays the programme week on the services' rehearsal clock (set through the admin "
        "API: development stacks only). Tokens are minted with the configured SCIWEEK_JWT_SECRET, as `sciweek token` "
        "does: run it beside the stack. Deterministic for a --seed; a second run doubles nothing.",
    )
    p_demo.add_argument("--speed", type=float, default=600, help="programme seconds per second (600: 10 min/s)")
    p_demo.add_argument("--seed", type=int, default=2020)
    p_demo.add_argument("--scale", type=float, default=1.0, help="people, places and visits per city (1: ~7 visits)")
    p_demo.add_argument("--cities", type=int, default=14, help="how many of the programme's cities take part")
    p_demo.add_argument("--jump-hours", type=float, default=2, help="skip idle programme time longer than this")
    p_demo.add_argument("--timeout", type=float, default=120, help="seconds to wait for the dashboard to catch up")
    p_demo.add_argument("--url", action="append", help="SERVICE=URL (default http://127.0.0.1:8001..8004)")
    p_demo.set_defaults(run=demo)

    p_gateway = commands.add_parser("gateway", help="the one-origin route table; --write regenerates its files")
    written = p_gateway.add_mutually_exclusive_group()
    written.add_argument("--write", action="store_true", help="write deploy/gateway/sciweek.conf and the Ingress")
    written.add_argument("--check", action="store_true", help="fail if those files are not what the table makes")
    p_gateway.set_defaults(run=gateway)

    p_serve = commands.add_parser("serve", help="run one service")
    p_serve.add_argument("service", choices=SERVICES)
    p_serve.set_defaults(run=serve)

    p_topology = commands.add_parser("topology", help="declare the exchange and all consumers' queues (prestart)")
    p_topology.add_argument(
        "--wait", type=float, metavar="SECONDS", help="declare nothing; wait until the topology exists (init container)"
    )
    p_topology.set_defaults(run=topology)

    p_token = commands.add_parser("token", help="mint a development JWT")
    p_token.add_argument("--role", required=True, choices=ROLES)
    p_token.add_argument("--sub")
    p_token.add_argument("--city")
    p_token.add_argument("--venues", help="comma-separated venue ids")
    p_token.add_argument("--org")
    p_token.add_argument("--ttl-hours", type=float, default=12)
    p_token.set_defaults(run=token)

    p_rebuild = commands.add_parser("rebuild", help="rebuild a service's projections from its stored event log")
    p_rebuild.add_argument("service", choices=["reporting"])
    p_rebuild.add_argument("--swap", action="store_true", help="replace the live projections with the rebuilt ones")
    p_rebuild.set_defaults(run=rebuild)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
