"""Pruning of the platform tables, so the outbox, the inbox and idempotency keys do not grow for ever.

Safe on any number of replicas: each pass is a few idempotent DELETEs of rows past their retention.
- outbox: published rows older than ``outbox_retention``; unpublished rows are never touched;
- inbox: handled ids older than ``inbox_retention`` (JetStream only redelivers unacknowledged
  messages, long gone by then);
- idempotency keys: older than ``idempotency_retention`` (clients retry within minutes).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from . import randomness, throttle
from .clock import real_now
from .db import Database, rows_affected
from .platform_tables import PlatformTables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    outbox: timedelta = timedelta(days=7)
    inbox: timedelta = timedelta(days=30)
    idempotency: timedelta = timedelta(hours=24)


async def prune(database: Database, tables: PlatformTables, *, now: datetime,
                retention: Retention = Retention()) -> dict[str, int]:
    removed: dict[str, int] = {}
    async with database.transaction() as session:
        outbox, inbox, keys = tables.outbox, tables.inbox, tables.idempotency
        result = await session.execute(delete(outbox).where(
            outbox.c.published_at.is_not(None), outbox.c.published_at < now - retention.outbox))
        removed["outbox"] = rows_affected(result)
        result = await session.execute(delete(inbox).where(inbox.c.handled_at < now - retention.inbox))
        removed["inbox"] = rows_affected(result)
        # A key still "running" after a day belongs to a process that died: nothing will finish it.
        result = await session.execute(delete(keys).where(keys.c.created_at < now - retention.idempotency))
        removed["idempotency"] = rows_affected(result)
    removed["throttle"] = await throttle.purge_expired(database, tables.throttle, now=now)
    return removed


async def run_forever(database: Database, tables: PlatformTables, *, every: timedelta = timedelta(minutes=10),
                      retention: Retention = Retention()) -> None:
    while True:
        # Jitter spreads the replicas' passes apart.
        await asyncio.sleep(every.total_seconds() * randomness.uniform(0.5, 1.5))
        try:
            removed = await prune(database, tables, now=real_now(), retention=retention)
            if any(removed.values()):
                log.info("housekeeping: removed %s", removed)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - try again next time
            log.exception("housekeeping: pass failed")
