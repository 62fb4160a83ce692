"""Signing keys: rotation, retirement, and the first key when replicas start together."""

from __future__ import annotations

import asyncio

import pytest
from identity_testkit import Identity, unverified_header
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import func, select

from comitas_identity import admin
from comitas_identity.keys.models import SigningKey
from comitas_identity.keys.service import ensure_active_key
from comitas_shared import migrations
from comitas_shared.clock import real_now
from comitas_shared.db import Database
from comitas_shared.testing import drop_database, fresh_database_url


async def jwks(identity: Identity) -> dict:
    response = await identity.http.get(f"{identity.url}/.well-known/jwks.json")
    assert response.status_code == 200
    return response.json()


def verifies(token: str, key_set: dict) -> bool:
    try:
        jwt.decode(token, KeySet.import_key_set(key_set), algorithms=["RS256"])
    except (JoseError, ValueError):
        return False
    return True


async def test_the_jwks_holds_public_keys_only(identity: Identity) -> None:
    keys = (await jwks(identity))["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()
        assert len(key["n"]) >= 342  # base64url of a 2048-bit modulus


async def test_rotation_signs_with_the_new_key_and_retirement_drops_the_old_one(identity: Identity) -> None:
    client = await identity.client()
    old_token = await identity.token(client)
    old_kid = unverified_header(old_token)["kid"]

    new_kid = await admin.rotate_signing_key(identity.database, master_key=identity.master_key)
    assert new_kid != old_kid
    new_token = await identity.token(client)
    assert unverified_header(new_token)["kid"] == new_kid

    published = await jwks(identity)
    kids = [key["kid"] for key in published["keys"]]
    assert kids[0] == new_kid and old_kid in kids
    assert verifies(old_token, published) and verifies(new_token, published)
    assert (await identity.introspect(client, old_token))["active"] is True

    await admin.retire_signing_key(identity.database, old_kid)
    published = await jwks(identity)
    assert old_kid not in [key["kid"] for key in published["keys"]]
    assert not verifies(old_token, published)
    assert verifies(new_token, published)
    assert (await identity.introspect(client, old_token)) == {"active": False}
    assert (await identity.introspect(client, new_token))["active"] is True


async def test_the_active_key_cannot_be_retired(identity: Identity) -> None:
    client = await identity.client()
    active_kid = unverified_header(await identity.token(client))["kid"]
    with pytest.raises(ValueError, match="active"):
        await admin.retire_signing_key(identity.database, active_kid)
    with pytest.raises(ValueError, match="no signing key"):
        await admin.retire_signing_key(identity.database, "no-such-kid")


async def test_replicas_starting_together_make_exactly_one_active_key(tmp_path) -> None:
    url = fresh_database_url("identity_keys", tmp_path)
    migrations.upgrade("comitas_identity", url)
    database = Database(url)
    try:
        kids = await asyncio.gather(*(ensure_active_key(database, master_key="k" * 40, now=real_now()) for _ in range(4)))
        assert len(set(kids)) == 1
        async with database.transaction() as session:
            count = (await session.execute(select(func.count()).select_from(SigningKey))).scalar_one()
        assert count == 1
        assert await ensure_active_key(database, master_key="k" * 40, now=real_now()) == kids[0]
    finally:
        await database.dispose()
        drop_database(url)
