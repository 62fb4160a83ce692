"""``Idempotency-Key`` for creating calls.

The key is claimed in a short transaction of its own, committed at once, so a concurrent retry sees it
while the first request is still running (409). The stored answer is written in the request's own
transaction, so it exists exactly when the request's effects do. If the request fails, the claim is
released and the client may retry with the same key.

- same key, same body, first finished: the first answer is replayed (same status and body);
- same key, another body: 422 ``idempotency-key-reused``;
- same key while the first is still running: 409 ``idempotency-key-in-use``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import InstitutionId
from .db import Database
from .errors import Conflict, Problem, Unprocessable
from .platform_tables import PlatformTables

MAX_KEY_LENGTH = 255
# A claim left by a crashed request stops blocking retries after this long.
STALE_CLAIM = timedelta(minutes=2)


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


@dataclass
class IdempotentCall:
    key: str | None
    replay_status: int | None = None
    replay_body: Any = None
    _result: dict[str, Any] = field(default_factory=dict)

    @property
    def is_replay(self) -> bool:
        return self.replay_status is not None


class Idempotency:
    def __init__(self, database: Database, tables: PlatformTables) -> None:
        self.database = database
        self.tables = tables

    @asynccontextmanager
    async def guard(
        self,
        session: AsyncSession,
        *,
        institution_id: InstitutionId,
        operation: str,
        key: str | None,
        body: Any,
    ) -> AsyncIterator[IdempotentCall]:
        """Use as ``async with idem.guard(...) as call:``; if ``call.is_replay`` return the stored answer,
        else do the work and ``await idem.remember(session, call, status, body)``."""
        if key is None:
            yield IdempotentCall(key=None)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Unprocessable("Idempotency-Key must be 1 to 255 characters", slug="idempotency-key-invalid")
        digest = request_hash(body)
        table = self.tables.idempotency
        where = (table.c.institution_id == institution_id, table.c.operation == operation, table.c.key == key)
        now = datetime.now(UTC)
        try:
            async with self.database.transaction() as claim:
                await claim.execute(insert(table).values(
                    institution_id=institution_id, operation=operation, key=key, request_hash=digest,
                    state="running", created_at=now, locked_until=now + STALE_CLAIM))
        except IntegrityError:
            async with self.database.transaction() as existing:
                row = (await existing.execute(select(table).where(*where))).mappings().one()
                if row["request_hash"] != digest:
                    raise Unprocessable("this Idempotency-Key was used with another request body",
                                        slug="idempotency-key-reused", title="Idempotency key reused") from None
                if row["state"] == "done":
                    replay = IdempotentCall(key=key, replay_status=row["response_status"],
                                            replay_body=row["response_body"])
                else:
                    replay = None
                    locked_until = _aware(row["locked_until"])
                    if locked_until and locked_until > now:
                        raise Conflict("a request with this Idempotency-Key is still being processed",
                                       slug="idempotency-key-in-use", title="Idempotency key in use") from None
                    # The first request died without an answer: take its claim over.
                    await existing.execute(update(table).where(*where).values(locked_until=now + STALE_CLAIM))
            if replay is not None:
                yield replay
                return
        call = IdempotentCall(key=key)
        try:
            yield call
        except BaseException:
            async with self.database.transaction() as release:
                await release.execute(delete(table).where(*where, table.c.state == "running"))
            raise
        if not call._result:
            return
        await session.execute(update(table).where(*where).values(state="done", **call._result))

    @staticmethod
    def remember(call: IdempotentCall, status: int, body: Any) -> None:
        if call.key is not None:
            call._result = {"response_status": status, "response_body": body}


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


__all__ = ["Idempotency", "IdempotentCall", "Problem", "request_hash"]
