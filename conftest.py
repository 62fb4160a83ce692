"""Fixtures shared by every test: a real NATS server and the running Comitas stack.

The stack is built once per test session: a real ``nats-server`` with JetStream, each service's
database migrated from its migrations, identity issuing real tokens, and every service served by
uvicorn on a real port. Tests isolate themselves by using their own institutions (``stack.new_institution``)
rather than by rebuilding the stack.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from comitas_shared.scopes import SCOPES
from comitas_shared.testing import NatsServer, ServedApp, drop_database, fresh_database_url

ALL_SCOPES = sorted(s for s in SCOPES if s != "admin")

# PostgreSQL connections in tests. Two workers' stacks, the module fixtures' services, the extra replicas
# and processes some tests start, and the cluster tests' twelve replicas share one server whose
# max_connections is 100. An engine keeps its pool_size connections open once a burst has used them, so
# what decides is how many each one keeps: two, with room for eight in a burst (a request waits for a
# connection rather than being refused by the server). Settings given explicitly win over these, and
# the processes tests start inherit them.
TEST_POOL_SIZE, TEST_MAX_OVERFLOW = 2, 6
for _service in ("IDENTITY", "INTAKE", "NOTIFICATIONS", "REFERRAL", "MLA", "PORTAL"):
    os.environ.setdefault(f"COMITAS_{_service}_DATABASE_POOL_SIZE", str(TEST_POOL_SIZE))
    os.environ.setdefault(f"COMITAS_{_service}_DATABASE_MAX_OVERFLOW", str(TEST_MAX_OVERFLOW))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (``make test``) with the slow files first (tests/scheduling.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.scheduling import LongestFirstFileScheduling

    return LongestFirstFileScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def span_exporter() -> InMemorySpanExporter:
    """Every span of the session, in memory: tests follow one trace across services with it. Installed
    before any service starts, since OpenTelemetry allows one global provider per process."""
    exporter = InMemorySpanExporter()
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": "comitas-tests"}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    else:
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
    return exporter


class WebhookReceiver:
    """A local HTTP endpoint that records what it receives; ``status`` sets what it answers."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 204
        self.served: ServedApp | None = None

    @property
    def url(self) -> str:
        assert self.served is not None
        return f"{self.served.url}/hook"

    def asgi(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def hook(request: Request) -> Response:
            body = await request.body()
            if self.status < 300:
                self.received.append({"headers": dict(request.headers), "body": body})
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def for_event(self, event_id: str) -> list[dict[str, Any]]:
        import json

        return [r for r in self.received if json.loads(r["body"]).get("id") == event_id]

    def for_subject(self, subject: str) -> list[dict[str, Any]]:
        import json

        return [r for r in self.received if json.loads(r["body"]).get("subject") == subject]


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.served = await ServedApp(receiver.asgi()).start()
    yield receiver
    await receiver.served.stop()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(store_dir=tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@dataclass
class Credentials:
    institution_id: str
    client_id: str
    client_secret: str
    scopes: list[str]


@dataclass
class Stack:
    nats: NatsServer
    identity: ServedApp
    intake: ServedApp
    notifications: ServedApp
    mla: ServedApp
    identity_db_url: str
    database_urls: dict[str, str]
    http: httpx.AsyncClient
    institutions: dict[str, Credentials] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.identity.url

    async def new_institution(self, name: str | None = None, *, kind: str = "nhri", country: str = "FR",
                              scopes: list[str] | None = None) -> Credentials:
        """A fresh institution with one client, so a test sees only its own data."""
        from comitas_identity import admin
        from comitas_shared.db import Database

        database = Database(self.identity_db_url)
        try:
            institution_id = await admin.register_institution(
                database, name=name or f"Test institution {uuid.uuid4().hex[:6]}", kind=kind, country=country)
            client = await admin.register_client(database, institution_id=institution_id, name="tests",
                                                 scopes=scopes or ALL_SCOPES)
        finally:
            await database.dispose()
        return Credentials(institution_id, client.client_id, client.client_secret or "", list(client.scopes))

    async def new_service(self, service: str, *, service_resource: str, exchange_resources: list[str],
                          exchange_scopes: list[str]) -> Any:
        """A platform service's client that may exchange an institution's token (RFC 8693), for the tests of
        services that may not import identity themselves."""
        from comitas_identity import admin
        from comitas_shared.db import Database

        database = Database(self.identity_db_url)
        try:
            return await admin.register_service(database, service=service, country="FR",
                                                service_resource=service_resource,
                                                exchange_resources=exchange_resources, exchange_scopes=exchange_scopes)
        finally:
            await database.dispose()

    async def new_officers_and_web_client(self, redirect_uris: list[str], officers: list[dict[str, Any]],
                                          scopes: list[str]) -> Any:
        """For the web client's tests, which may not import identity: a web client (authorization code
        with PKCE) in a platform entry of its own, and per item of ``officers`` (name, email, password,
        kind, profile) an institution with that directory profile and one liaison officer. Returns the
        client's credentials and the institutions' ids, in order."""
        from comitas_identity import admin
        from comitas_shared.db import Database

        database = Database(self.identity_db_url)
        try:
            platform = await admin.register_institution(database, name=f"Web client {uuid.uuid4().hex[:6]}",
                                                        kind="platform_service", country="FR")
            client = await admin.register_client(database, institution_id=platform, name="Comitas web client",
                                                 scopes=scopes, redirect_uris=redirect_uris)
            ids = []
            for officer in officers:
                institution_id = await admin.register_institution(database, name=officer["institution"],
                                                                  kind=officer["kind"],
                                                                  country=officer.get("country", "FR"))
                await admin.update_institution(database, institution_id, officer["profile"])
                await admin.register_user(database, institution_id=institution_id, email=officer["email"],
                                          name=officer["name"], password=officer["password"], scopes=scopes)
                ids.append(institution_id)
        finally:
            await database.dispose()
        return client, ids

    async def serve_referral(self, tmp: Path, exchange_scopes: list[str]) -> ServedApp:
        """The referral service beside this stack (with its own client at identity, for token exchange),
        for the tests of services that call it over HTTP and may not import it."""
        from comitas_referral.main import create_app
        from comitas_referral.settings import ReferralSettings
        from comitas_shared import migrations
        from comitas_shared.testing import free_port

        service = await self.new_service(f"referral-{uuid.uuid4().hex[:6]}", service_resource="urn:comitas:referral",
                                         exchange_resources=["urn:comitas:intake"], exchange_scopes=exchange_scopes)
        url = fresh_database_url(f"referral_{uuid.uuid4().hex[:4]}", tmp)
        migrations.upgrade("comitas_referral", url)
        port = free_port()
        settings = ReferralSettings(
            environment="test", database_url=url, nats_url=self.nats.url, issuer=self.issuer,
            outbox_poll_seconds=0.2, public_url=f"http://127.0.0.1:{port}", identity_url=self.issuer,
            intake_url=self.intake.url, identity_client_id=service.client_id,
            identity_client_secret=service.client_secret, directory_refresh_seconds=600)
        return await ServedApp(create_app(settings), port=port).start()

    async def token(self, credentials: Credentials, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        response = await self.http.post(f"{self.identity.url}/oauth/token", data=data,
                                        auth=(credentials.client_id, credentials.client_secret))
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    async def client_for(self, service: str, credentials: Credentials, scope: str | None = None) -> httpx.AsyncClient:
        token = await self.token(credentials, scope)
        served: ServedApp = getattr(self, service)
        return httpx.AsyncClient(base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="session")
async def stack(nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    from comitas_identity.main import create_app as create_identity
    from comitas_identity.settings import IdentitySettings
    from comitas_intake.main import create_app as create_intake
    from comitas_intake.settings import IntakeSettings
    from comitas_mla.main import create_app as create_mla
    from comitas_mla.settings import MlaSettings
    from comitas_notifications.main import create_app as create_notifications
    from comitas_notifications.settings import NotificationsSettings
    from comitas_shared import migrations

    tmp: Path = tmp_path_factory.mktemp("stack")
    urls = {name: fresh_database_url(name, tmp) for name in ("identity", "intake", "notifications", "mla")}
    for name, url in urls.items():
        migrations.upgrade(f"comitas_{name}", url)

    identity = ServedApp(None)
    issuer = identity.url
    # Pools that keep few idle connections (see TEST_POOL_SIZE).
    common: dict[str, Any] = {"environment": "test", "nats_url": nats_server.url, "issuer": issuer,
                              "outbox_poll_seconds": 0.2, "database_pool_size": TEST_POOL_SIZE,
                              "database_max_overflow": TEST_MAX_OVERFLOW}
    identity.app = create_identity(IdentitySettings(database_url=urls["identity"], public_url=issuer, **common))
    await identity.start()
    intake = await ServedApp(create_intake(IntakeSettings(database_url=urls["intake"], **common))).start()
    mla = await ServedApp(create_mla(MlaSettings(database_url=urls["mla"], identity_url=issuer,
                                                 evidence_dir=str(tmp / "mla-evidence"), **common))).start()
    notifications = await ServedApp(create_notifications(NotificationsSettings(
        database_url=urls["notifications"], allow_private_webhook_targets=True,
        webhook_retry_base_seconds=0.2, webhook_max_attempts=4, **common))).start()
    async with httpx.AsyncClient(timeout=10) as http:
        built = Stack(nats=nats_server, identity=identity, intake=intake, notifications=notifications, mla=mla,
                      identity_db_url=urls["identity"], database_urls=urls, http=http)
        for key, kind in (("ombuds", "ombudsperson"), ("nhri", "nhri"), ("commission", "regional_commission"),
                          ("authority", "central_authority")):
            built.institutions[key] = await built.new_institution(f"Demo {kind}", kind=kind)
        yield built
    for served in (notifications, mla, intake, identity):
        await served.stop()
    if os.environ.get("DATABASE_URL"):
        for url in urls.values():
            drop_database(url)
