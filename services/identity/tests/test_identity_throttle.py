"""Guessing is throttled across replicas: two identity instances on one database share the window.

Both instances trust 127.0.0.1 as a proxy, so each test sends its own client address in
X-Forwarded-For and does not share a window with another test. uvicorn is told to trust no proxy
itself (FORWARDED_ALLOW_IPS), so the address is the service's own reading of the header."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from identity_testkit import pkce, post_sign_in

from comitas_identity import admin
from comitas_identity.main import create_app
from comitas_identity.settings import IdentitySettings
from comitas_shared import migrations
from comitas_shared.clock import FixedClock, real_now
from comitas_shared.db import Database
from comitas_shared.testing import NatsServer, ServedApp, drop_database, fresh_database_url

CALLBACK = "http://127.0.0.1:8080/auth/callback"
# An address no test connects from: uvicorn then leaves the peer address as it is.
UVICORN_TRUSTS_NOBODY = "192.0.2.255"
PASSWORD = "correct horse battery staple"


@dataclass
class Replicas:
    a: ServedApp
    b: ServedApp
    database: Database
    clock: FixedClock
    http: httpx.AsyncClient


@pytest.fixture(scope="module")
async def replicas(nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replicas]:
    url = fresh_database_url("identity_throttle", tmp_path_factory.mktemp("identity_throttle"))
    migrations.upgrade("comitas_identity", url)
    clock = FixedClock(real_now())
    served = []
    for _ in range(2):
        app = ServedApp(None)
        settings = IdentitySettings(environment="test", database_url=url, nats_url=nats_server.url,
                                    issuer="http://127.0.0.1:1", public_url=app.url, trusted_proxies=["127.0.0.1"])
        app.app = create_app(settings, clock=clock)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FORWARDED_ALLOW_IPS", UVICORN_TRUSTS_NOBODY)
            served.append(await app.start())
    database = Database(url)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            yield Replicas(served[0], served[1], database, clock, http)
    finally:
        for app in served:
            await app.stop()
        await database.dispose()
        if os.environ.get("DATABASE_URL"):
            drop_database(url)


def address() -> str:
    return f"203.0.113.{uuid.uuid4().int % 250 + 1}"


async def officer_and_client(replicas: Replicas) -> tuple[str, str]:
    institution_id = await admin.register_institution(replicas.database, name="Throttled", kind="nhri",
                                                      country="FR")
    email = f"guess-{uuid.uuid4().hex[:6]}@example.org"
    await admin.register_user(replicas.database, institution_id=institution_id, email=email, name="Gus",
                              password=PASSWORD, scopes=["complaints:read"])
    web = await admin.register_client(replicas.database, institution_id=institution_id, name="web",
                                      scopes=["complaints:read"], auth_method="none", redirect_uris=[CALLBACK])
    return email, web.client_id


def authorize(client_id: str) -> dict[str, str]:
    _, challenge = pkce()
    return {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "scope": "complaints:read",
            "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}


async def test_the_21st_wrong_password_in_a_minute_is_429_on_any_replica(replicas: Replicas) -> None:
    email, client_id = await officer_and_client(replicas)
    here = address()

    async def attempt(app: ServedApp, password: str, source: str = here) -> httpx.Response:
        return await post_sign_in(replicas.http, app.url, authorize(client_id), email, password,
                                  **{"X-Forwarded-For": source})

    for n in range(20):
        wrong = await attempt(replicas.a if n % 2 else replicas.b, f"wrong password {n}")
        assert wrong.status_code == 200 and "wrong" in wrong.text, (n, wrong.text)

    refused = await attempt(replicas.a, "wrong password 21")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many failed sign-ins" in refused.text and 'type="password"' in refused.text
    # The right password is not even looked at while the window is full, on the other replica too.
    assert (await attempt(replicas.b, PASSWORD)).status_code == 429
    # Another address is another window.
    assert (await attempt(replicas.b, PASSWORD, address())).status_code == 302

    replicas.clock.advance(seconds=61)
    back = await attempt(replicas.b, PASSWORD)
    assert back.status_code == 302 and "code=" in back.headers["location"]


async def test_failed_token_requests_are_throttled_per_client_and_address(replicas: Replicas) -> None:
    institution_id = await admin.register_institution(replicas.database, name="Guessed", kind="ngo", country="ES")
    system = await admin.register_client(replicas.database, institution_id=institution_id, name="system",
                                         scopes=["directory:read"])
    here = address()

    async def token(app: ServedApp, secret: str) -> httpx.Response:
        return await replicas.http.post(f"{app.url}/oauth/token", data={"grant_type": "client_credentials"},
                                        auth=(system.client_id, secret), headers={"X-Forwarded-For": here})

    for n in range(20):
        assert (await token(replicas.b if n % 2 else replicas.a, f"not-the-secret-{n}")).status_code == 401
    refused = await token(replicas.a, "not-the-secret-21")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["error"] == "temporarily_unavailable"
    assert int(refused.headers["retry-after"]) == refused.json()["retry_after"]
    assert (await token(replicas.b, system.client_secret or "")).status_code == 429

    replicas.clock.advance(seconds=61)
    assert (await token(replicas.b, system.client_secret or "")).status_code == 200


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without trusted proxies, a client cannot escape its window by inventing addresses."""
    url = fresh_database_url("identity_untrusted", tmp_path_factory.mktemp("identity_untrusted"))
    migrations.upgrade("comitas_identity", url)
    app = ServedApp(None)
    app.app = create_app(IdentitySettings(environment="test", database_url=url, nats_url=nats_server.url,
                                          issuer=app.url, public_url=app.url, token_failure_limit="3/minute"),
                         clock=FixedClock(real_now()))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", UVICORN_TRUSTS_NOBODY)
    await app.start()
    database = Database(url)
    try:
        institution_id = await admin.register_institution(database, name="Spoofer", kind="ngo", country="ES")
        system = await admin.register_client(database, institution_id=institution_id, name="s",
                                             scopes=["directory:read"])
        async with httpx.AsyncClient(timeout=10) as http:
            statuses = [(await http.post(f"{app.url}/oauth/token", data={"grant_type": "client_credentials"},
                                         auth=(system.client_id, "nope"),
                                         headers={"X-Forwarded-For": address()})).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
    finally:
        await app.stop()
        await database.dispose()
        if os.environ.get("DATABASE_URL"):
            drop_database(url)
