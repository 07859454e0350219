"""The one factory that wires every service: MongoDB, RabbitMQ, relay, consumer, health, metrics, errors."""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pymongo
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import idempotency, outbox, rehearsal, web
from shared.admission import ConcurrencyLimit
from shared.auth import Admin, TokenVerifier
from shared.cache import TtlCache
from shared.clock import Clock, rehearsal_from
from shared.envelope import correlation_id_var
from shared.group_commit import GroupCommit, Writes
from shared.http import PublicRateLimit, RateLimiter
from shared.idempotency import Inbox, Route
from shared.landing import landing_page
from shared.messaging import Broker, Consumer
from shared.metrics import Metrics
from shared.mongo import (
    Document,
    Session,
    connect_for,
    database_unavailable,
    in_transaction,
    ping,
    raise_if_cancelled,
)
from shared.openapi import document_problems
from shared.problems import Problem, install_problem_handlers, on_unexpected_error, problem_response
from shared.programme import Programme, load_programme
from shared.settings import DEV_JWT_SECRET, Settings
from shared.unit_of_work import Job
from shared.web import CachedFiles

log = logging.getLogger(__name__)
T = TypeVar("T")
IndexSetup = Callable[[AsyncDatabase[Document]], Awaitable[None]]


API_PREFIX = "/api/v1"  # every service's HTTP API, one version for all four
DATABASE_RETRY_AFTER_S = 5  # Retry-After of a 503 database_unavailable


def api_router(prefix: str = "", **options: Any) -> APIRouter:
    """A router of a service's HTTP API: its paths live under API_PREFIX (so route templates carry it too)."""
    return APIRouter(prefix=API_PREFIX + prefix, **options)


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service: its HTTP routes, its event subscriptions, its indexes and its periodic jobs.

    `jobs` maps a name to (interval in seconds, coroutine function of a UnitOfWork). Every replica runs
    them, so a job must be safe to run concurrently (conditional updates, outbox for its events).
    """

    name: str
    title: str
    router: APIRouter  # the HTTP API: routers made by api_router()
    routes: Mapping[str, Route] = field(default_factory=dict)
    ensure_indexes: IndexSetup | None = None
    jobs: Mapping[str, tuple[float, Job]] = field(default_factory=dict)
    pages: APIRouter | None = None  # the apps and pages the service serves, at their own paths
    apps: Mapping[str, Path] = field(default_factory=dict)  # URL path -> directory of an app's static files
    description: str = ""  # what the service is, in Chinese first (its landing page at `/`)
    links: Mapping[str, str] = field(default_factory=dict)  # label -> an app's path, e.g. "实时看板": "dashboard"


@dataclass
class Runtime:
    """The clients of one running service, created in the lifespan and passed down explicitly."""

    settings: Settings
    programme: Programme
    metrics: Metrics
    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    broker: Broker
    relay: outbox.Relay
    consumer: Consumer | None
    events: outbox.Outbox  # the one way to emit an event: `await rt.events.emit(session, data, subject=...)`
    verifier: TokenVerifier  # checks bearer tokens for every route that needs one
    limiter: RateLimiter  # the public routes' per-client budgets
    clock: Clock = field(default_factory=Clock)  # the one clock of routes, jobs and use cases
    caches: dict[str, TtlCache[Any]] = field(default_factory=dict)

    def cache(self, name: str, ttl_s: float) -> TtlCache[Any]:
        """This replica's cache called `name` (answers that may be `ttl_s` old under a spike)."""
        return self.caches.setdefault(name, TtlCache(ttl_s))

    background: list[asyncio.Task[None]] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    # the transactions of `commit` and `commit_once` this replica runs at once (settings.max_concurrent_transactions)
    transaction_slots: asyncio.Semaphore | None = None

    group: GroupCommit = field(init=False)
    prior_answers: idempotency.PriorAnswers = field(init=False)

    def __post_init__(self) -> None:
        if self.transaction_slots is None and self.settings.max_concurrent_transactions > 0:
            self.transaction_slots = asyncio.Semaphore(self.settings.max_concurrent_transactions)
        self.group = GroupCommit(self.mongo, self.db, self._transaction_slot, self.settings.request_deadline_s)
        self.prior_answers = idempotency.PriorAnswers(self.db, self.settings.request_deadline_s)

    def _transaction_slot(self) -> AbstractAsyncContextManager[Any]:
        return self.transaction_slots if self.transaction_slots is not None else nullcontext()

    async def commit(self, fn: Callable[[Session], Awaitable[T]]) -> T:
        """Run a state change (with its outbox entries) in one transaction, then nudge the relay."""
        async with self._transaction_slot():
            result = await in_transaction(self.mongo, fn, timeout_s=self.settings.transaction_deadline_s)
        self.relay.wake()
        return result

    async def commit_writes(self, writes: Writes) -> None:
        """Commit `writes`, grouped with other requests' writes waiting meanwhile, then nudge the relay."""
        await self.group.commit(writes)
        self.relay.wake()

    async def prior_answer(self, key: str) -> dict[str, Any] | None:
        return await self.prior_answers.get(key)

    async def commit_once(
        self,
        key: str | None,
        body: Any,
        fn: Callable[[Session], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """`commit` under an Idempotency-Key: a replay returns the first reply, another body is 422."""
        fingerprint = idempotency.request_fingerprint(body)
        async with self._transaction_slot():
            result = await idempotency.run_idempotent(
                self.mongo,
                self.db,
                key,
                fingerprint,
                fn,
                timeout_s=self.settings.transaction_deadline_s,
            )
        self.relay.wake()
        return result

    async def start(self, spec: ServiceSpec) -> None:
        await outbox.ensure_indexes(self.db)
        await idempotency.ensure_indexes(self.db)
        if spec.ensure_indexes is not None:
            await spec.ensure_indexes(self.db)
        if self.settings.clock_control:  # a rehearsal set at run time survives a restart and reaches every replica
            await rehearsal.load(self.db, self.clock)
            self.background.append(asyncio.create_task(rehearsal.follow(self.db, self.clock), name="clock"))
        if self.clock.rehearsal is not None:
            log.warning("rehearsal clock (演练): programme time is %s, rate %s", self.clock.now(), self.clock.rate)
        self.background.append(asyncio.create_task(self._connect_broker(), name="broker-connect"))
        for name, (interval_s, job) in spec.jobs.items():
            self.background.append(asyncio.create_task(self._every(name, interval_s, job), name=f"job-{name}"))

    async def _every(self, name: str, interval_s: float, job: Job) -> None:
        while True:
            try:
                await job(self)
            except Exception:  # a failed run is logged and tried again at the next interval
                log.exception("periodic job %s failed", name)
            raise_if_cancelled()  # stop() cancels jobs; a cancel pymongo swallowed must still end the loop
            await self._pause(interval_s)

    async def _pause(self, interval_s: float) -> None:
        """Wait `interval_s` of programme time; a rehearsal clock set meanwhile shortens the wait within a second."""
        started = time.monotonic()
        while (left := self.clock.wall_interval(interval_s) - (time.monotonic() - started)) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(left, 1.0))

    async def _connect_broker(self) -> None:
        await self.broker.connect()
        self.relay.start()
        if self.consumer is not None:
            await self.consumer.start()
        self.started.set()

    async def stop(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        if self.consumer is not None and self.consumer.channel is not None:
            await self.consumer.stop()
        await self.relay.stop()
        await self.broker.close()
        await self.mongo.close()

    async def readiness(self) -> dict[str, bool]:
        """What the service reaches now (MongoDB, RabbitMQ, its consumer attached), also set as metric gauges."""
        checks = {"mongodb": False, "rabbitmq": self.broker.connected, "consumer": self.consumer is None}
        try:
            await asyncio.wait_for(ping(self.mongo), 2)
            checks["mongodb"] = True
        except Exception as exc:
            log.warning("readiness: MongoDB unreachable: %r", exc)
        if self.consumer is not None and checks["rabbitmq"]:
            try:
                count = await asyncio.wait_for(self.broker.consumer_count(self.settings.queue), 2)
                checks["consumer"] = count > 0
            except Exception as exc:
                log.warning("readiness: consumer check failed: %r", exc)
        for dependency, up in checks.items():
            self.metrics.dependency_up.labels(dependency=dependency).set(1 if up else 0)
        return checks


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def current_time(rt: RuntimeDep) -> datetime:
    return rt.clock.now()


NowDep = Annotated[datetime, Depends(current_time)]  # the runtime's clock, as routes see it


class HttpMiddleware:
    """Correlation id in and out, body size limit, and request metrics by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes  # multipart bodies (photos, media, import files)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = _given_request_id(headers)
        request_id = given or str(uuid.uuid4())
        token = correlation_id_var.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if given is None:  # not text: it could be neither logged, carried into events nor echoed
                unreadable = Problem(
                    400, "invalid_request_id", detail="X-Request-ID 须为 UTF-8 文本 / must be UTF-8 text"
                )
                await problem_response(unreadable)(scope, _no_body, send_with_id)
                return
            limit = self.max_upload if headers.get(b"content-type", b"").startswith(b"multipart/") else self.max_body
            body_receive = await self._within_limit(headers, receive, limit)
            if body_receive is None:
                too_big = Problem(413, "payload_too_large", detail=f"请求体超过 {limit} 字节")
                await problem_response(too_big)(scope, _no_body, send_with_id)
                return
            await self.app(scope, body_receive, send_with_id)
        finally:
            correlation_id_var.reset(token)
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.http_requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.http_seconds.labels(scope["method"], template).observe(time.perf_counter() - started)

    async def _within_limit(self, headers: dict[bytes, bytes], receive: Receive, limit: int) -> Receive | None:
        """`receive` if the body fits `limit` (a chunked body is read ahead to find out), else None."""
        length = headers.get(b"content-length")
        if length is not None:
            return receive if not length.isdigit() or int(length) <= limit else None
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            return receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                return None
            if not message.get("more_body", False):
                break
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()

        return replayed


def _given_request_id(headers: dict[bytes, bytes]) -> str | None:
    """The caller's X-Request-ID (or X-Correlation-ID), at most 64 characters; "" if none, None if not UTF-8."""
    raw = headers.get(b"x-request-id") or headers.get(b"x-correlation-id") or b""
    try:
        return raw.decode()[:64]
    except UnicodeDecodeError:
        return None


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def build_app(spec: ServiceSpec, settings: Settings) -> FastAPI:
    """A FastAPI app for `spec`: clients are created in the lifespan, never at import time."""
    metrics = Metrics(spec.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = connect_for(settings)
        db = mongo[settings.mongodb_db]
        broker = Broker(settings)
        inbox = Inbox(mongo, db, settings.transaction_deadline_s)
        consumer = Consumer(broker, spec.routes, inbox, metrics) if spec.routes else None
        runtime = Runtime(
            settings,
            load_programme(settings.programme_file),
            metrics,
            mongo,
            db,
            broker,
            outbox.Relay(db, broker, settings, metrics),
            consumer,
            outbox.Outbox(db, settings.source),
            TokenVerifier(settings),
            RateLimiter(settings.public_rate_limit, settings.trusted_proxies),
            Clock(rehearsal_from(settings.clock, settings.clock_rate, settings.clock_anchor)),
        )
        await runtime.start(spec)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=spec.title,
        version="1.0.0",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
        # "function": the deadline covers the route's work, not a streamed body (SSE, media) sent after it returns
        dependencies=[Depends(_database_deadline(settings.request_deadline_s), scope="function")],
    )
    if settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
        log.warning("using the development JWT secret: set SCIWEEK_JWT_SECRET in production")
    install_problem_handlers(app)
    app.add_exception_handler(PyMongoError, _on_database_error)
    app.add_middleware(  # inside HttpMiddleware: a refusal still carries its X-Request-ID and is counted
        ConcurrencyLimit,
        limit=settings.max_concurrent_requests,
        wait_s=settings.admission_wait_s,
        retry_after_s=settings.admission_retry_after_s,
    )
    app.add_middleware(
        HttpMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.include_router(_ops_router(metrics))
    app.include_router(_named_docs_router(app, spec))
    app.include_router(_clock_router())
    app.include_router(_landing_router(spec))
    app.include_router(spec.router)
    if spec.pages is not None:
        app.include_router(spec.pages)
    # static files are compressed for phones (a gateway may do it instead); API answers and event streams are not
    app.mount("/vendor", GZipMiddleware(CachedFiles(web.VENDOR, web.FOREVER)), name="vendor")
    app.mount("/lib", GZipMiddleware(CachedFiles(web.LIB, web.REVALIDATE)), name="lib")
    for path, directory in spec.apps.items():
        app.mount(path, GZipMiddleware(CachedFiles(directory, web.REVALIDATE, html=True)), name=path.strip("/"))
    document_problems(app)
    return app


def _database_deadline(seconds: float) -> Callable[[], AsyncIterator[None]]:
    """A dependency of every route: all the database work of one request ends within `seconds`."""

    async def deadline() -> AsyncIterator[None]:
        with pymongo.timeout(seconds):  # past it pymongo raises a timeout error: 503 (_on_database_error)
            yield

    return deadline


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After when the database is away, busy or out of time (retrying may work); else a bug: 500."""
    if not database_unavailable(exc):
        return await on_unexpected_error(request, exc)
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    unavailable = Problem(
        503,
        "database_unavailable",
        "服务暂时不可用 / Service unavailable",
        "数据库暂时不可用或记录正被占用，请稍后重试 / the database is unavailable or the records are busy; retry later",
    )
    return problem_response(unavailable, request, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})


# Readiness is "can serve": writes need MongoDB only (their events wait in the outbox while the broker is away),
# so a broker outage must not take a replica out of the load balancer; it shows in the body and in metrics.
REQUIRED_FOR_READINESS = ("mongodb",)


def _named_docs_router(app: FastAPI, spec: ServiceSpec) -> APIRouter:
    """The API docs again under the service's name: behind the one-origin gateway /<service>/… reaches this service."""
    router = APIRouter(prefix=f"/{spec.name}", include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=f"/{spec.name}/openapi.json", title=f"{spec.title} - docs")

    return router


def _ops_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers (restart it only if this fails)."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        """Readiness: 200 while MongoDB answers; the broker and the consumer are reported, not required."""
        checks = await runtime.readiness()
        ready = all(checks[name] for name in REQUIRED_FOR_READINESS)
        degraded = [name for name, up in checks.items() if not up and name not in REQUIRED_FOR_READINESS]
        body = {"ready": ready, "checks": checks, "degraded": degraded}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def prometheus(runtime: RuntimeDep) -> Response:
        await runtime.readiness()  # the sciweek_dependency_up gauges are as fresh as the scrape
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: AwareDatetime  # the programme time to run at from now on
    rate: float = Field(1.0, gt=0, le=1_000_000)  # programme seconds per wall second


def _clock_router() -> APIRouter:
    router = api_router(tags=["clock"])

    @router.get("/clock")
    async def get_clock(runtime: RuntimeDep, _: PublicRateLimit) -> dict[str, Any]:
        """当前时间；演练时为活动时间 / The service's time: programme time while a rehearsal clock runs."""
        return {
            **runtime.clock.state(),
            "control": runtime.settings.clock_control,
            "timezone": runtime.programme.timezone,
        }

    @router.put("/clock")
    async def set_clock(body: ClockIn, runtime: RuntimeDep, actor: Admin) -> dict[str, Any]:
        """设置演练时钟（仅允许时）/ Run a rehearsal clock from `at` at `rate` (where SCIWEEK_CLOCK_CONTROL allows)."""
        _check_clock_control(runtime)
        await rehearsal.store(runtime.db, runtime.clock, body.at, body.rate)
        return {**runtime.clock.state(), "control": True}

    @router.delete("/clock")
    async def reset_clock(runtime: RuntimeDep, actor: Admin) -> dict[str, Any]:
        """结束演练，回到配置的时钟 / Back to the configured clock (the wall clock, or SCIWEEK_CLOCK)."""
        _check_clock_control(runtime)
        await rehearsal.reset(runtime.db, runtime.clock)
        return {**runtime.clock.state(), "control": True}

    return router


def _check_clock_control(runtime: Runtime) -> None:
    if not runtime.settings.clock_control:
        raise Problem(
            403,
            "clock_control_disabled",
            detail="本部署不允许在运行中调整时钟 / SCIWEEK_CLOCK_CONTROL is off: the clock cannot be set",
        )


def _landing_router(spec: ServiceSpec) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def landing(runtime: RuntimeDep) -> HTMLResponse:
        links = dict(spec.links)
        for path in spec.apps:  # an app nobody labelled is still listed, under its path
            if path.strip("/") + "/" not in {href.rstrip("/") + "/" for href in links.values()}:
                links[path] = path.strip("/") + "/"
        page = landing_page(spec.title, runtime.programme.name, spec.description, links)
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    return router


def _bind_context(service: str) -> structlog.types.Processor:
    def bind(_logger: Any, _method: str, entry: structlog.types.EventDict) -> structlog.types.EventDict:
        entry["level"] = entry["level"].upper()
        entry["service"] = service
        entry["correlation_id"] = correlation_id_var.get()  # of the request or event being handled
        return entry

    return bind


def configure_logging(settings: Settings) -> None:
    """JSON logs on stderr at the configured level (structlog renders every stdlib logger's records)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                _bind_context(settings.service),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.EventRenamer("message"),
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
