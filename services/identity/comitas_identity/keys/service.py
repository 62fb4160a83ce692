"""Load, rotate and retire signing keys; the :class:`KeyRing` keeps decrypted keys in memory."""

from __future__ import annotations

import logging
from datetime import datetime

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.db import Database
from comitas_shared.errors import ServiceUnavailable

from . import crypto, repository
from .crypto import ALGORITHM
from .models import SigningKey
from .repository import ACTIVE, RETIRED

__all__ = ["ALGORITHM", "KeyRing", "ensure_active_key", "retire", "rotate"]

log = logging.getLogger(__name__)


def _row(master_key: str, key: RSAKey, now: datetime) -> SigningKey:
    return SigningKey(kid=key.kid, algorithm=crypto.ALGORITHM, state=ACTIVE,
                      public_jwk=crypto.public_jwk(key),
                      encrypted_private_key=crypto.encrypt_private_key(master_key, key), created_at=now)


async def rotate(session: AsyncSession, *, master_key: str, now: datetime) -> str:
    """A new key becomes active at once; the one it replaces still verifies until it is retired."""
    key = crypto.new_signing_key()
    await repository.demote_active(session)
    await repository.add(session, _row(master_key, key, now))
    return key.kid


async def retire(session: AsyncSession, kid: str, *, now: datetime) -> None:
    row = await repository.get(session, kid)
    if row is None:
        raise ValueError(f"no signing key {kid}")
    if row.state == ACTIVE:
        raise ValueError(f"signing key {kid} is the active key: rotate first, then retire it")
    if row.state != RETIRED:
        await repository.retire(session, kid, now)


async def ensure_active_key(database: Database, *, master_key: str, now: datetime) -> str:
    """Create the first key unless one is active. Replicas starting together may all try: the
    one-active-key index lets exactly one insert win, and the others read the winner's key."""
    for _ in range(3):
        async with database.transaction() as session:
            existing = await repository.active_key(session)
            if existing is not None:
                return existing.kid
        try:
            async with database.transaction() as session:
                key = crypto.new_signing_key()
                await repository.add(session, _row(master_key, key, now))
                log.info("identity: created signing key %s", key.kid)
                return key.kid
        except IntegrityError:
            continue
    raise RuntimeError("identity: no active signing key could be created")


class KeyRing:
    """Decrypted signing keys by kid. Rows are read on each use, so a rotation made by another replica
    or by ``comitas-admin key rotate`` takes effect at once; only decryption is cached."""

    def __init__(self, master_key: str) -> None:
        self._master_key = master_key
        self._private: dict[str, RSAKey] = {}

    def _decrypt(self, row: SigningKey) -> RSAKey:
        key = self._private.get(row.kid)
        if key is None:
            key = crypto.decrypt_private_key(self._master_key, row.kid, row.encrypted_private_key)
            self._private[row.kid] = key
        return key

    async def signing_key(self, session: AsyncSession) -> RSAKey:
        row = await repository.active_key(session)
        if row is None:
            raise ServiceUnavailable("no active signing key", slug="no-signing-key")
        return self._decrypt(row)

    async def verification_keys(self, session: AsyncSession) -> KeySet:
        return KeySet([RSAKey.import_key(row.public_jwk) for row in await repository.verifying_keys(session)])

    async def public_jwks(self, session: AsyncSession) -> dict[str, list[dict[str, str]]]:
        return {"keys": [dict(row.public_jwk) for row in await repository.verifying_keys(session)]}
