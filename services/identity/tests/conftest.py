"""The identity service served for real: a migrated database (SQLite, or PostgreSQL when DATABASE_URL is
set), the session's nats-server, uvicorn on a free port. Tests isolate themselves by registering their
own institutions and clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
from identity_testkit import Identity

from comitas_identity.main import create_app
from comitas_identity.settings import IdentitySettings
from comitas_shared import migrations
from comitas_shared.db import Database
from comitas_shared.testing import NatsServer, ServedApp, drop_database, fresh_database_url


@pytest.fixture(scope="session")
async def identity(
    nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Identity]:
    url = fresh_database_url("identity", tmp_path_factory.mktemp("identity"))
    migrations.upgrade("comitas_identity", url)
    served = ServedApp(None)
    settings = IdentitySettings(
        environment="test",
        database_url=url,
        nats_url=nats_server.url,
        issuer=served.url,
        public_url=served.url,
        outbox_poll_seconds=0.2,
    )
    served.app = create_app(settings)
    await served.start()
    database = Database(url)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            yield Identity(
                served=served,
                settings=settings,
                database=database,
                database_url=url,
                http=http,
                nats_url=nats_server.url,
            )
    finally:
        await served.stop()
        await database.dispose()
        if os.environ.get("DATABASE_URL"):
            drop_database(url)
