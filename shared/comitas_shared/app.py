"""The common shape of every Comitas service: one function builds a FastAPI app from its settings.

It wires the database, problem+json errors, the body-size limit, token validation (with the
revocation deny-list), NATS, the outbox relay, the service's consumers, tracing, and the health
endpoints. Services add their routers and consumers; nothing here knows a service's domain.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.pool import QueuePool
from starlette.responses import JSONResponse

from . import housekeeping
from .auth import DenyList, TokenValidator, token_validator_for
from .clock import Clock, real_now
from .db import Database
from .draining import Drain
from .errors import BodySizeLimit, ServiceUnavailable, install_problem_handlers
from .events.catalogue import TOKEN_REVOKED
from .events.consumer import DurableConsumer, follow_subject
from .events.envelope import CloudEvent
from .events.nats import NatsHandle
from .events.outbox import OutboxRelay, install_relay_wakeup
from .idempotency import Idempotency
from .openapi import install_openapi, problem_response
from .platform_tables import PlatformTables
from .settings import ServiceSettings
from .tasks import cancel_and_wait, run_shutdown
from .telemetry import instrument_app, setup_tracing

log = logging.getLogger(__name__)

# Revoked tokens older than this cannot still be valid: access tokens live minutes.
REVOCATION_REPLAY = timedelta(hours=2)


@dataclass
class Platform:
    settings: ServiceSettings
    database: Database
    tables: PlatformTables
    nats: NatsHandle
    relay: OutboxRelay
    validator: TokenValidator
    idempotency: Idempotency
    http: httpx.AsyncClient
    # Set from SIGTERM until the process stops: /readyz says so while requests are still served.
    drain: Drain
    # The business clock: what is due, overdue or expired. Tests replace it to pin "today".
    clock: Clock = real_now
    consumers: list[DurableConsumer[Any]] = field(default_factory=list)
    background: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"/comitas/{self.settings.service_name}"


ConsumerFactory = Callable[[Platform], Sequence[DurableConsumer[Any]]]
StartupHook = Callable[[Platform, FastAPI], Awaitable[None]]


def create_service_app(
    *,
    settings: ServiceSettings,
    tables: PlatformTables,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    consumers: ConsumerFactory | None = None,
    on_startup: Sequence[StartupHook] = (),
    on_shutdown: Sequence[StartupHook] = (),
    version: str = "1.0.0",
    clock: Clock = real_now,
    larger_bodies: Sequence[tuple[str, str, int]] = (),
) -> FastAPI:
    database = Database(settings.database_url, pool_size=settings.database_pool_size,
                        max_overflow=settings.database_max_overflow)
    http = httpx.AsyncClient(timeout=10)
    deny_list = DenyList()
    validator = token_validator_for(settings, http=http, deny_list=deny_list)
    nats = NatsHandle(settings.nats_server_urls, name=settings.service_name, stream_replicas=settings.nats_stream_replicas,
                      credentials=settings.nats_credentials)
    relay = OutboxRelay(database=database, tables=tables, js=lambda: nats.js,
                        poll_seconds=settings.outbox_poll_seconds)
    install_relay_wakeup(database, relay)
    platform = Platform(settings=settings, database=database, tables=tables, nats=nats, relay=relay,
                        validator=validator, idempotency=Idempotency(database, tables, settings.master_key),
                        http=http, drain=Drain(settings.drain_seconds), clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform.drain.take_over_signals()
        await nats.start(wait=2.0)
        relay.start()
        platform.consumers = list(consumers(platform)) if consumers else []
        for consumer in platform.consumers:
            consumer.start()
        platform.background.append(asyncio.create_task(_follow_revocations(platform), name="revocations"))
        platform.background.append(asyncio.create_task(housekeeping.run_forever(database, tables),
                                                       name="housekeeping"))
        for hook in on_startup:
            await hook(platform, app)
        try:
            yield
        finally:
            # Every step bounded, the whole within the orchestrator's grace (see run_shutdown).
            await run_shutdown([
                *((f"shutdown hook {getattr(hook, '__name__', hook)}", functools.partial(hook, platform, app))
                  for hook in on_shutdown),
                *((f"background task {task.get_name()}", functools.partial(cancel_and_wait, task))
                  for task in platform.background),
                *((f"consumer {consumer.name}", consumer.stop) for consumer in platform.consumers),
                ("outbox relay", relay.stop),
                ("NATS connection", nats.close),
                ("HTTP client", http.aclose),
                ("database pool", database.dispose),
            ])

    setup_tracing(settings.service_name, settings.otel_exporter, settings.otel_endpoint)
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  docs_url="/docs", openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.platform = platform
    app.state.database = database
    app.state.token_validator = validator
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, larger=larger_bodies)
    app.include_router(_health_router())
    for router in routers:
        app.include_router(router)
    install_openapi(app, issuer=settings.issuer)
    instrument_app(app, database.engine)
    return app


async def _follow_revocations(platform: Platform) -> None:
    async def add(event: CloudEvent) -> None:
        if event.type == TOKEN_REVOKED.type:
            expires = datetime.fromisoformat(event.data["expires_at"].replace("Z", "+00:00"))
            platform.validator.deny_list.add(event.data["jti"], expires.timestamp())

    await follow_subject(platform.nats, TOKEN_REVOKED.subject, REVOCATION_REPLAY, add)


def current_time(request: Request) -> datetime:
    """The platform's business clock, read once per request."""
    platform: Platform = request.app.state.platform
    return platform.clock()


Now = Annotated[datetime, Depends(current_time)]


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def _every_connection_in_use(platform: Platform) -> bool:
    pool = platform.database.engine.pool
    limit = platform.settings.database_pool_size + platform.settings.database_max_overflow
    return isinstance(pool, QueuePool) and pool.checkedout() >= limit


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database and NATS are reachable, and the process is not stopping",
                responses={503: problem_response("A dependency is unreachable, or the replica is draining "
                                                 "before it stops (`checks` says which)")})
    async def readyz(platform: PlatformDep) -> JSONResponse:
        if platform.drain.draining:
            # The balancer's cue to take this replica out; it still serves whatever reaches it meanwhile.
            problem = ServiceUnavailable(
                f"draining: this replica received SIGTERM and stops in {platform.drain.remaining:.0f} s",
                checks={"process": "draining"})
            return JSONResponse(problem.body(), status_code=503, media_type="application/problem+json")
        checks = {"database": "ok", "nats": "ok" if platform.nats.connected else "unreachable"}
        # Every connection in use is busy, not unreachable, and stays "ok" unprobed: the probe would queue
        # behind the requests for a connection and the gateway's check time out, taking out a replica that
        # serves (the last one: 503 for everyone).
        if not _every_connection_in_use(platform):
            try:
                async with platform.database.transaction() as session:
                    await session.execute(text("SELECT 1"))
            except Exception:  # noqa: BLE001
                checks["database"] = "unreachable"
        if any(v != "ok" for v in checks.values()):
            problem = ServiceUnavailable("a dependency is unreachable", checks=checks)
            return JSONResponse(problem.body(), status_code=503, media_type="application/problem+json")
        return JSONResponse({"status": "ready", "checks": checks})

    return router
