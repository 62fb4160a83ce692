"""Durable deadline timers: JetStream message schedules (ADR-51, nats-server 2.12+).

One stream, ``SCHEDULES``, holds both sides: the schedule messages on
``schedules.deadline.<token>.<reminder>`` and, when one fires, the reminder the server produces on
``reminders.deadline.<token>.<reminder>`` (the server only produces into the schedule's own stream).
``<token>`` is a hash of the institution and the deadline key, which may hold characters a subject
cannot.

A schedule subject holds at most one message (the server stores schedules with a subject rollup), so
publishing a new schedule replaces the old one, and a reminder that no longer applies is purged. The
timers are infrastructure, not domain events, so they are published after the consumer's transaction
commits, not through the outbox; ``Deadline.schedule_revision`` records what NATS holds, and the
reconciler republishes whatever lags behind. ``Nats-Msg-Id`` is derived from the deadline, its due
time, the reminder and the revision, so a republish of the same timers is dropped as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, Header, RetentionPolicy, StorageType, StreamConfig

from comitas_shared.auth import InstitutionId
from comitas_shared.db import Database
from comitas_shared.events.nats import NatsHandle, ensure_stream
from comitas_shared.tasks import cancel_and_wait

from ..settings import NotificationsSettings
from . import repository
from .domain import DUE, DeadlineState, reminder_plan
from .models import Deadline

log = logging.getLogger(__name__)

SCHEDULES_STREAM = "SCHEDULES"
SCHEDULE_PREFIX = "schedules.deadline"
REMINDER_PREFIX = "reminders.deadline"
DUPLICATE_WINDOW = timedelta(minutes=10)


def schedules_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=SCHEDULES_STREAM,
        description="Comitas notifications: deadline timers (schedules.>) and the reminders they fire (reminders.>)",
        subjects=["schedules.>", "reminders.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
        allow_msg_schedules=True,
        # Fired reminders carry a TTL (Nats-Schedule-TTL) so the stream does not grow for ever.
        allow_msg_ttl=True,
        num_replicas=replicas,
    )


def schedules_stream_provisioner(replicas: int) -> Callable[[JetStreamContext], Awaitable[None]]:
    """For ``NatsHandle.on_ready``: the stream exists before any consumer binds to it."""

    async def ensure_schedules_stream(js: JetStreamContext) -> None:
        await ensure_stream(js, schedules_stream_config(replicas))

    return ensure_schedules_stream


def deadline_token(institution_id: str, deadline_key: str) -> str:
    return hashlib.sha256(f"{institution_id}\x00{deadline_key}".encode()).hexdigest()[:32]


def schedule_subject(token: str, reminder: str) -> str:
    return f"{SCHEDULE_PREFIX}.{token}.{reminder}"


def reminder_subject(token: str, reminder: str) -> str:
    return f"{REMINDER_PREFIX}.{token}.{reminder}"


def timer_id(institution_id: str, deadline_key: str, due_at: datetime, reminder: str, revision: int) -> str:
    raw = f"{institution_id}\x00{deadline_key}\x00{due_at.astimezone(UTC).isoformat()}\x00{reminder}\x00{revision}"
    return "tmr-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


class DeadlineTimers:
    def __init__(self, *, database: Database, nats: NatsHandle, settings: NotificationsSettings) -> None:
        self.database = database
        self.nats = nats
        self.settings = settings
        self._pending: set[tuple[str, str]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # SQLite has no row locks: one sync at a time in this process (SQLite means one replica).
        self._local_lock = asyncio.Lock()

    def request_sync(self, deadlines: set[tuple[str, str]]) -> None:
        """After a commit that changed deadlines: bring their timers in step now, not at the next scan."""
        self._pending |= deadlines
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="deadline-timers")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        next_scan = 0.0
        while True:
            self._wake.clear()
            pending, self._pending = self._pending, set()
            for institution_id, deadline_id in pending:
                await self._sync_logged(InstitutionId(institution_id), deadline_id)
            if time.monotonic() >= next_scan:
                try:
                    await self.reconcile()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the next scan tries again
                    log.info("deadline timers: reconcile failed (%s)", exc)
                next_scan = time.monotonic() + self.settings.deadline_reconcile_seconds
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_scan - time.monotonic()))

    async def _sync_logged(self, institution_id: InstitutionId, deadline_id: str) -> None:
        try:
            await self.sync(institution_id, deadline_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the reconciler republishes what this missed
            log.info("deadline timers: sync of %s failed (%s); the reconciler will retry", deadline_id, exc)

    async def reconcile(self) -> int:
        """Every deadline whose timers lag behind: publish or purge them. Returns how many were synced."""
        async with self.database.transaction() as session:
            lagging = await repository.out_of_schedule(session, limit=500)
        for institution_id, deadline_id in lagging:
            await self._sync_logged(institution_id, deadline_id)
        return len(lagging)

    async def sync(self, institution_id: InstitutionId, deadline_id: str) -> None:
        js = self.nats.js  # ConnectionError while NATS is away: the row keeps lagging, the scan retries
        # The row lock (PostgreSQL) or the process lock (SQLite) serialises syncs of one deadline, so a
        # stale sync can never overwrite the timers of a newer revision.
        local = self._local_lock if self.database.is_sqlite else contextlib.nullcontext()
        async with local, self.database.transaction() as session:
            row = await repository.get(session, institution_id, deadline_id, for_update=not self.database.is_sqlite)
            if row is None or row.schedule_revision == row.revision:
                return
            await self._publish(js, row, datetime.now(UTC))
            row.schedule_revision = row.revision
            row.scheduled_for = row.due_at if row.state == DeadlineState.OPEN else None

    async def _publish(self, js: JetStreamContext, row: Deadline, now: datetime) -> None:
        token = deadline_token(row.institution_id, row.deadline_key)
        if row.state != DeadlineState.OPEN:
            await js.purge_stream(SCHEDULES_STREAM, subject=f"{SCHEDULE_PREFIX}.{token}.>")
            return
        plan = reminder_plan(row.due_at, now=now, days_before=self.settings.deadline_reminder_days)
        planned = {r.name for r in plan}
        # Reminders now in the past (the deadline moved closer) must not fire with the old time.
        for name in [f"d{d}" for d in self.settings.deadline_reminder_days] + [DUE]:
            if name not in planned:
                await js.purge_stream(SCHEDULES_STREAM, subject=schedule_subject(token, name))
        for reminder in plan:
            message_id = timer_id(row.institution_id, row.deadline_key, row.due_at, reminder.name, row.revision)
            body = {
                "timer_id": message_id, "deadline_id": row.id, "institution_id": row.institution_id,
                "deadline_key": row.deadline_key, "reminder": reminder.name,
                "due_at": rfc3339(row.due_at), "revision": row.revision,
            }
            await js.publish(
                schedule_subject(token, reminder.name),
                json.dumps(body, separators=(",", ":")).encode(),
                headers={
                    Header.SCHEDULE.value: f"@at {rfc3339(reminder.fire_at)}",
                    Header.SCHEDULE_TARGET.value: reminder_subject(token, reminder.name),
                    Header.SCHEDULE_TTL.value: f"{self.settings.reminder_retention_hours}h",
                    Header.MSG_ID.value: message_id,
                },
                timeout=5.0,
            )
