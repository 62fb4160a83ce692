"""Receipt signing keys on a real (migrated) database: sealed under the master key, one active key even
when replicas race, rotation on demand and on schedule, replaced keys still published, retirement only
of what no receipt needs."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from joserfc.jwk import ECKey

from comitas_referral.receipts import crypto, repository, service
from comitas_shared import migrations
from comitas_shared.db import Database
from comitas_shared.testing import drop_database, fresh_database_url

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MASTER = "receipts-test-master-key-0123456789abcdef"


@pytest.fixture
async def database(tmp_path):
    url = fresh_database_url("referral_receipt_keys", tmp_path)
    migrations.upgrade("comitas_referral", url)
    found = Database(url)
    yield found
    await found.dispose()
    if os.environ.get("DATABASE_URL"):
        drop_database(url)


def signer(master: str = MASTER, days: int = 90) -> service.ReceiptSigner:
    return service.ReceiptSigner(master, issuer="https://referral.test/", rotate_every=timedelta(days=days))


async def published(database: Database) -> list[str]:
    async with database.transaction() as session:
        return [k["kid"] for k in (await service.public_jwks(session))["keys"]]


async def test_the_private_key_is_stored_sealed_and_opens_only_with_its_master_key_and_row(database):
    ours = signer()
    kid = await service.ensure_active_key(database, ours, now=NOW)
    async with database.transaction() as session:
        row = await repository.get_key(session, kid)
        jwks = await service.public_jwks(session)
    assert row is not None and row.state == "active" and row.algorithm == "ES256"
    assert "PRIVATE KEY" not in row.sealed_private_key and row.sealed_private_key.startswith("v1:")
    assert jwks == {"keys": [row.public_jwk]}
    assert set(row.public_jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}  # no private "d"
    opened = crypto.unseal(MASTER, kid, row.sealed_private_key)
    assert opened.as_dict(private=False) == ECKey.import_key(row.public_jwk).as_dict(private=False)
    with pytest.raises(crypto.KeyUnsealingError, match="not the configured one"):
        crypto.unseal("another-master-key", kid, row.sealed_private_key)
    other = crypto.new_signing_key()
    # A sealed key copied onto another row (another kid) does not open.
    with pytest.raises(crypto.KeyUnsealingError, match="does not open"):
        crypto.unseal(MASTER, other.kid or "", row.sealed_private_key)


async def test_replicas_starting_together_create_one_active_key(database):
    kids = await asyncio.gather(*(service.ensure_active_key(database, signer(), now=NOW) for _ in range(4)))
    assert len(set(kids)) == 1
    assert await published(database) == [kids[0]]
    # And a restart finds it.
    assert await service.ensure_active_key(database, signer(), now=NOW) == kids[0]


async def test_rotation_signs_with_the_new_key_and_keeps_the_old_ones_published(database):
    ours = signer()
    first = await service.ensure_active_key(database, ours, now=NOW)
    async with database.transaction() as session:
        second = await service.rotate(session, ours, now=NOW + timedelta(days=1))
    async with database.transaction() as session:
        third = await service.rotate(session, ours, now=NOW + timedelta(days=2))
        assert (await ours.signing_key(session, NOW)).kid == third
    assert len({first, second, third}) == 3
    # The active key first, then the replaced ones, newest first: none is dropped.
    assert await published(database) == [third, second, first]
    async with database.transaction() as session:
        states = {k["kid"]: (k["state"], k["replaced_at"]) for k in service.keys_summary(
            await repository.all_keys(session))}
    assert states[first][0] == states[second][0] == "previous" and states[first][1] is not None
    assert states[third] == ("active", None)


async def test_the_scheduled_rotation_replaces_the_key_once_it_is_due(database):
    ours = signer(days=30)
    first = await service.ensure_active_key(database, ours, now=NOW)
    assert await service.rotate_if_due(database, ours, now=NOW + timedelta(days=29)) is None
    second = await service.rotate_if_due(database, ours, now=NOW + timedelta(days=30))
    assert second is not None and second != first
    # Two replicas' passes at the same moment: one rotates, the other finds nothing due.
    results = await asyncio.gather(*(service.rotate_if_due(database, signer(days=30), now=NOW + timedelta(days=61))
                                     for _ in range(3)))
    assert len([r for r in results if r is not None]) == 1
    assert len(await published(database)) == 3
    assert await service.rotate_if_due(database, service.ReceiptSigner(MASTER, issuer="x", rotate_every=None),
                                       now=NOW + timedelta(days=999)) is None


async def test_only_a_replaced_key_no_receipt_names_can_be_retired(database):
    ours = signer()
    first = await service.ensure_active_key(database, ours, now=NOW)
    async with database.transaction() as session:
        with pytest.raises(ValueError, match="active key"):
            await service.retire(session, first, now=NOW)
        with pytest.raises(ValueError, match="no receipt key"):
            await service.retire(session, "nope", now=NOW)
    async with database.transaction() as session:
        second = await service.rotate(session, ours, now=NOW)
    async with database.transaction() as session:
        await service.retire(session, first, now=NOW)
        await service.retire(session, first, now=NOW)  # twice: nothing more happens
    assert await published(database) == [second]


async def test_a_changed_master_key_replaces_the_active_key_and_keeps_its_public_part(database):
    first = await service.ensure_active_key(database, signer("old-master-key-000000000000000000"), now=NOW)
    second = await service.ensure_active_key(database, signer(MASTER), now=NOW)
    assert second != first
    assert await published(database) == [second, first]


async def test_a_database_without_a_key_gets_one_at_the_first_signature(database):
    ours = signer()
    async with database.transaction() as session:
        key = await ours.signing_key(session, NOW)
    assert await published(database) == [key.kid]
