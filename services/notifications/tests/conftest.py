"""A notifications service of its own for these tests: its own nats-server, a fresh database built from
the migrations, and a token issuer (RSA key, JWKS over HTTP) that mints RFC 9068 access tokens the
way identity does. Independent of identity and intake, and of the session-wide stack (whose
notifications would share durable consumer names on the shared NATS)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from nats.aio.client import Client
from nats.js import JetStreamContext
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from comitas_shared import migrations
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.scopes import SCOPES
from comitas_shared.testing import NatsServer, ServedApp, drop_database, free_port, fresh_database_url

ALL_SCOPES = sorted(s for s in SCOPES if s != "admin")


class Issuer:
    """Mints access tokens like identity's: RS256, ``typ: at+jwt``, the claims auth.py checks."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "notifications-tests", "use": "sig", "alg": "RS256"})
        self.served = ServedApp(Starlette(routes=[Route("/.well-known/jwks.json", self._jwks)]))

    async def _jwks(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    @property
    def url(self) -> str:
        return self.served.url

    def token(self, institution_id: str, scopes: list[str] | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "sub": f"client-{institution_id[:8]}", "aud": "comitas", "exp": now + 300,
                  "iat": now, "jti": uuid.uuid4().hex, "client_id": f"client-{institution_id[:8]}",
                  "scope": " ".join(ALL_SCOPES if scopes is None else scopes), "institution_id": institution_id,
                  **overrides}
        return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": "notifications-tests"}, claims, self.key)


@dataclass
class Env:
    served: ServedApp
    issuer: Issuer
    nats_server: NatsServer
    nc: Client
    database_url: str

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def app(self) -> Any:
        return self.served.app

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    def new_institution(self) -> str:
        return str(uuid.uuid4())

    def client(self, institution_id: str, scopes: list[str] | None = None) -> httpx.AsyncClient:
        token = self.issuer.token(institution_id, scopes)
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    async def publish(self, event: CloudEvent, *, msg_id: str | None = None) -> None:
        headers = event.nats_headers()
        if msg_id is not None:
            headers["Nats-Msg-Id"] = msg_id
        await self.js.publish(event.nats_subject, event.nats_body(), headers=headers)


@pytest.fixture(scope="session")
def notifications_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(store_dir=tmp_path_factory.mktemp("notifications-nats")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def issuer() -> AsyncIterator[Issuer]:
    issuer = Issuer()
    await issuer.served.start()
    yield issuer
    await issuer.served.stop()


@pytest.fixture(scope="session")
def notifications_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = fresh_database_url("notifications", tmp_path_factory.mktemp("notifications-db"))
    migrations.upgrade("comitas_notifications", url)
    yield url
    if os.environ.get("DATABASE_URL"):
        drop_database(url)


@pytest.fixture(scope="session")
async def env(notifications_nats: NatsServer, issuer: Issuer, notifications_db_url: str) -> AsyncIterator[Env]:
    from comitas_notifications.main import create_app
    from comitas_notifications.settings import NotificationsSettings

    settings = NotificationsSettings(
        database_url=notifications_db_url, environment="test", nats_url=notifications_nats.url, issuer=issuer.url,
        outbox_poll_seconds=0.2, allow_private_webhook_targets=True, webhook_retry_base_seconds=0.2,
        webhook_max_attempts=4, webhook_timeout_seconds=2.0, webhook_lease_seconds=10.0,
        deadline_reconcile_seconds=1.0)
    served = await ServedApp(create_app(settings)).start()
    await served.app.state.platform.nats.wait_ready(timeout=10)
    nc = await nats.connect(notifications_nats.url)
    try:
        yield Env(served=served, issuer=issuer, nats_server=notifications_nats, nc=nc,
                  database_url=notifications_db_url)
    finally:
        await nc.close()
        await served.stop()


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every request and answers from ``plan`` (then
    ``status``)."""

    def __init__(self, port: int | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.plan: list[int] = []
        self.status = 204
        # Seconds each answer is held back: a slow receiver.
        self.delay = 0.0
        self.served = ServedApp(Starlette(routes=[Route("/hook", self._hook, methods=["POST"])]), port=port)

    async def _hook(self, request: Request) -> Response:
        status = self.plan.pop(0) if self.plan else self.status
        # Recorded on arrival: a sender that gives up while the answer is held back has still delivered.
        self.requests.append({"headers": dict(request.headers), "body": await request.body(), "status": status,
                              "at": datetime.now(UTC)})
        if self.delay:
            await asyncio.sleep(self.delay)
        return Response(status_code=status)

    @property
    def url(self) -> str:
        return f"{self.served.url}/hook"

    def for_event(self, event_id: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["headers"].get("webhook-id") == event_id]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.served.start()
    yield receiver
    if receiver.served.server is not None:
        await receiver.served.stop()


@pytest.fixture
async def unstarted_receiver() -> AsyncIterator[Receiver]:
    """A receiver whose port nothing listens on until the test starts it."""
    receiver = Receiver(port=free_port())
    yield receiver
    if receiver.served.server is not None:
        await receiver.served.stop()


@dataclass
class Institution:
    id: str
    api: httpx.AsyncClient


@pytest.fixture
async def institution(env: Env) -> AsyncIterator[Institution]:
    institution_id = env.new_institution()
    async with env.client(institution_id) as api:
        yield Institution(institution_id, api)


@pytest.fixture
async def paused_worker(env: Env) -> AsyncIterator[Any]:
    """The delivery worker stopped, so deliveries stay pending for as long as the test needs; the test
    may start it again itself. Always running again afterwards."""
    worker = env.app.state.worker
    await worker.stop()
    yield worker
    if not worker.running:
        worker.start()
