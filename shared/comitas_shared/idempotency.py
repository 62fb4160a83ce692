"""``Idempotency-Key`` for creating calls (docs/adr/0005-idempotency-keys.md).

The claim lives in the request's own transaction, beside the request's effects and its stored answer:
the three become durable together at commit, or vanish together when the request fails or its process
dies. A claim therefore never outlives the process that made it, and a client retrying after a crash
is served at once instead of being told for minutes that a dead request is still running.

A concurrent retry must still notice the first request while it runs:

- on PostgreSQL the request holds a transaction-scoped advisory lock on the key (released at commit,
  rollback, or when its connection dies with the process); a retry that cannot take it is answered
  409 at once;
- on SQLite the claim's insert takes the database's single write lock, so a concurrent retry waits for
  the first to finish and then replays its answer (409 only if it waited longer than the busy timeout).

Outcomes:

- same key, same body, first finished: the first answer is replayed (same status and body);
- same key, another body: 422 ``idempotency-key-reused``;
- same key while the first is still running: 409 ``idempotency-key-in-use``.

The stored answer is kept only as AES-GCM ciphertext under a key derived from the service's master key
and bound to (institution, operation, key): a response body may carry a victim's account of events, and
a second plaintext copy of it in a platform table would escape the protections of the service's own.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr
from sqlalchemy import BigInteger, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from . import randomness
from .auth import InstitutionId
from .clock import real_now
from .db import Database, rows_affected
from .errors import Conflict, Problem, Unprocessable
from .platform_tables import PlatformTables

MAX_KEY_LENGTH = 255
# Only claims committed by releases before claims moved into the request's transaction can still be
# found "running"; such a claim may belong to a live process of that release, so it keeps its old lease.
STALE_CLAIM = timedelta(minutes=2)

_FORMAT = "v1"
_NONCE_BYTES = 12


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


def advisory_lock_key(institution_id: str, operation: str, key: str) -> int:
    """A signed 64-bit number for ``pg_try_advisory_xact_lock``: a collision only costs a spurious 409."""
    digest = hashlib.sha256(json.dumps(["idempotency", institution_id, operation, key]).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass
class IdempotentCall:
    key: str | None
    replay_status: int | None = None
    replay_body: Any = None
    _result: dict[str, Any] = field(default_factory=dict)

    @property
    def is_replay(self) -> bool:
        return self.replay_status is not None


def _in_use() -> Conflict:
    return Conflict("a request with this Idempotency-Key is still being processed",
                    slug="idempotency-key-in-use", title="Idempotency key in use")


class Idempotency:
    def __init__(self, database: Database, tables: PlatformTables, master_key: SecretStr | str) -> None:
        self.database = database
        self.tables = tables
        secret = master_key.get_secret_value() if isinstance(master_key, SecretStr) else master_key
        self._aead = AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-idempotency",
                                 info=b"stored-response/v1").derive(secret.encode()))

    def seal(self, body: Any, *, institution_id: str, operation: str, key: str) -> str:
        nonce = randomness.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, json.dumps(body, separators=(",", ":")).encode(),
                                    _binding(institution_id, operation, key))
        return f"{_FORMAT}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, stored: Any, *, institution_id: str, operation: str, key: str) -> Any:
        if not isinstance(stored, str):
            # Answers stored before encryption; housekeeping prunes them within a day.
            return stored
        version, _, payload = stored.partition(".")
        if version != _FORMAT:
            raise ValueError(f"unknown stored-answer format {version!r}")
        raw = base64.urlsafe_b64decode(payload)
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:],
                                       _binding(institution_id, operation, key))
        except InvalidTag as exc:
            raise ValueError("the stored answer does not decrypt with this master key for this key") from exc
        return json.loads(plain)

    @asynccontextmanager
    async def guard(
        self,
        session: AsyncSession,
        *,
        institution_id: InstitutionId,
        operation: str,
        key: str | None,
        body: Any,
        now: datetime | None = None,
    ) -> AsyncIterator[IdempotentCall]:
        """Use as ``async with idem.guard(...) as call:``; if ``call.is_replay`` return the stored answer,
        else do the work and ``idem.remember(call, status, body)``. ``session`` must be the request's
        transaction: the claim lives and dies with it."""
        if key is None:
            yield IdempotentCall(key=None)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Unprocessable("Idempotency-Key must be 1 to 255 characters", slug="idempotency-key-invalid")
        digest = request_hash(body)
        now = now or real_now()
        table = self.tables.idempotency
        where = (table.c.institution_id == institution_id, table.c.operation == operation, table.c.key == key)
        scope = {"institution_id": institution_id, "operation": operation, "key": key}

        # A finished first request is answered from its row without taking any lock, so simultaneous
        # replays do not turn one another away.
        row = (await session.execute(select(table).where(*where))).mappings().one_or_none()
        if row is None or row["state"] != "done":
            if session.get_bind().dialect.name == "postgresql":
                held = (await session.execute(select(func.pg_try_advisory_xact_lock(
                    bindparam("lock", advisory_lock_key(institution_id, operation, key), BigInteger))))).scalar_one()
                if not held:
                    raise _in_use()
            if await self._insert_claim(session, scope, digest, now):
                row = None
            else:
                row = (await session.execute(select(table).where(*where))).mappings().one()
        if row is not None:
            if row["request_hash"] != digest:
                raise Unprocessable("this Idempotency-Key was used with another request body",
                                    slug="idempotency-key-reused", title="Idempotency key reused")
            if row["state"] == "done":
                yield IdempotentCall(key=key, replay_status=row["response_status"],
                                     replay_body=self.open(row["response_body"], **scope))
                return
            locked_until = _aware(row["locked_until"])
            if locked_until is not None and locked_until > now:
                raise _in_use()
            await session.execute(update(table).where(*where).values(locked_until=now + STALE_CLAIM))

        call = IdempotentCall(key=key)
        try:
            yield call
        except Exception:
            # The request's transaction is normally rolled back with the claim in it; this covers a
            # caller that catches the error and commits anyway (or a transaction already aborted).
            with suppress(Exception):
                await session.execute(delete(table).where(*where, table.c.state == "running"))
            raise
        if not call._result:
            await session.execute(delete(table).where(*where, table.c.state == "running"))
            return
        await session.execute(update(table).where(*where).values(
            state="done", response_status=call._result["status"],
            response_body=self.seal(call._result["body"], **scope)))

    async def _insert_claim(self, session: AsyncSession, scope: dict[str, str], digest: str,
                            now: datetime) -> bool:
        """True when this request now holds the claim (uncommitted, in its own transaction)."""
        table = self.tables.idempotency
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).values(
            **scope, request_hash=digest, state="running", created_at=now,
            locked_until=now + STALE_CLAIM).on_conflict_do_nothing()
        try:
            result = await session.execute(statement)
        except OperationalError as exc:
            # SQLite: another request held the write lock for the whole busy timeout.
            if "locked" in str(exc).lower():
                raise _in_use() from None
            raise
        return bool(rows_affected(result))

    @staticmethod
    def remember(call: IdempotentCall, status: int, body: Any) -> None:
        if call.key is not None:
            call._result = {"status": status, "body": body}


def _binding(institution_id: str, operation: str, key: str) -> bytes:
    return json.dumps(["idempotency", institution_id, operation, key]).encode()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


__all__ = ["Idempotency", "IdempotentCall", "Problem", "advisory_lock_key", "request_hash"]
