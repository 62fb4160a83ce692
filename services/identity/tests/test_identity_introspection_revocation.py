"""Introspection (RFC 7662) and revocation (RFC 7009), and the token_revoked event every resource
server follows."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import nats
from identity_testkit import Identity, unverified_claims
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import func, select

from comitas_identity.keys.service import KeyRing
from comitas_identity.models import tables
from comitas_identity.oauth.models import RevokedToken
from comitas_shared.testing import eventually


async def revoke(identity: Identity, caller, token: str) -> int:
    response = await identity.http.post(
        f"{identity.url}/oauth/revoke", data={"token": token}, auth=caller.basic
    )
    return response.status_code


async def forged(identity: Identity, **claims: object) -> str:
    """A token signed by the service's active key but with claims of our choosing."""
    async with identity.database.transaction() as session:
        key = await KeyRing(identity.master_key).signing_key(session)
    now = int(time.time())
    base = {
        "iss": identity.settings.issuer,
        "sub": "x",
        "aud": "comitas",
        "iat": now - 700,
        "nbf": now - 700,
        "exp": now - 100,
        "jti": "forged-jti",
        "client_id": "x",
        "scope": "",
        "institution_id": "x",
    }
    return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, {**base, **claims}, key)


async def test_an_institution_introspects_its_own_active_token(identity: Identity) -> None:
    client = await identity.client(scopes=["complaints:read", "deadlines:read"])
    token = await identity.token(client)
    body = await identity.introspect(client, token)
    assert body["active"] is True
    assert body["client_id"] == client.client_id
    assert body["institution_id"] == client.institution_id
    assert body["scope"] == "complaints:read deadlines:read"
    assert body["token_type"] == "Bearer"
    assert body["iss"] == identity.settings.issuer
    assert body["jti"] == unverified_claims(token)["jti"]
    assert body["exp"] > time.time()


async def test_another_institution_sees_it_inactive_and_the_admin_sees_it_active(identity: Identity) -> None:
    owner = await identity.client()
    other = await identity.client()
    platform = await identity.client(scopes=["admin"])
    token = await identity.token(owner)
    assert await identity.introspect(other, token) == {"active": False}
    assert (await identity.introspect(platform, token))["active"] is True


async def test_expired_unknown_and_foreign_tokens_are_inactive(identity: Identity) -> None:
    caller = await identity.client()
    expired = await forged(identity, institution_id=caller.institution_id)
    stranger_key = RSAKey.generate_key(2048, private=True)
    foreign = jwt.encode(
        {"alg": "RS256", "typ": "at+jwt"}, unverified_claims(await identity.token(caller)), stranger_key
    )
    not_an_access_token = await forged(
        identity, institution_id=caller.institution_id, exp=int(time.time()) + 600
    )
    not_an_access_token = jwt.encode(
        {"alg": "RS256", "typ": "JWT"}, unverified_claims(not_an_access_token), stranger_key
    )
    for token in (expired, foreign, not_an_access_token, "garbage", "a.b.c"):
        assert await identity.introspect(caller, token) == {"active": False}, token


async def test_introspection_needs_client_authentication(identity: Identity) -> None:
    response = await identity.http.post(f"{identity.url}/oauth/introspect", data={"token": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    caller = await identity.client()
    response = await identity.http.post(f"{identity.url}/oauth/introspect", data={}, auth=caller.basic)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_revocation_deactivates_the_token_and_announces_it_on_nats(identity: Identity) -> None:
    client = await identity.client(scopes=["directory:read"])
    token = await identity.token(client)
    claims = unverified_claims(token)
    directory = f"{identity.url}/v1/institutions"
    assert (
        await identity.http.get(directory, headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200

    connection = await nats.connect(identity.nats_url)
    received: asyncio.Queue = asyncio.Queue()

    async def collect(message) -> None:
        await received.put(message)

    await connection.subscribe("events.identity.token_revoked", cb=collect)
    try:
        assert await revoke(identity, client, token) == 200
        assert await identity.introspect(client, token) == {"active": False}

        while True:
            message = await asyncio.wait_for(received.get(), timeout=10)
            data = json.loads(message.data)
            if data["jti"] == claims["jti"]:
                break
        assert message.headers["ce-type"] == "comitas.identity.token_revoked"
        assert message.headers["ce-source"] == "/comitas/identity"
        assert message.headers["Nats-Msg-Id"] == message.headers["ce-id"]
        assert data["client_id"] == client.client_id
        assert int(_timestamp(data["expires_at"])) == claims["exp"]
    finally:
        await connection.close()

    # The identity service is a resource server too: it follows the event into its deny-list.
    async def refused() -> bool:
        response = await identity.http.get(directory, headers={"Authorization": f"Bearer {token}"})
        return response.status_code == 401 and "revoked" in response.headers.get("www-authenticate", "")

    await eventually(refused, timeout=10)


async def test_revoking_twice_records_and_announces_once(identity: Identity) -> None:
    client = await identity.client()
    token = await identity.token(client)
    jti = unverified_claims(token)["jti"]
    assert await revoke(identity, client, token) == 200
    assert await revoke(identity, client, token) == 200
    async with identity.database.transaction() as session:
        rows = (
            await session.execute(
                select(func.count()).select_from(RevokedToken).where(RevokedToken.jti == jti)
            )
        ).scalar_one()
        outbox = (
            await session.execute(
                select(tables.outbox.c.envelope).where(
                    tables.outbox.c.event_type == "comitas.identity.token_revoked"
                )
            )
        ).all()
    assert rows == 1
    assert sum(1 for (envelope,) in outbox if envelope["data"]["jti"] == jti) == 1


async def test_a_client_cannot_revoke_another_clients_token_but_gets_200(identity: Identity) -> None:
    owner = await identity.client()
    other = await identity.client()
    token = await identity.token(owner)
    assert await revoke(identity, other, token) == 200
    assert (await identity.introspect(owner, token))["active"] is True


async def test_revoking_what_is_not_a_token_is_200(identity: Identity) -> None:
    caller = await identity.client()
    assert await revoke(identity, caller, "not-a-token") == 200
    response = await identity.http.post(f"{identity.url}/oauth/revoke", data={"token": "x"})
    assert response.status_code == 401


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()
