"""Durable deadline timers: JetStream message schedules (ADR-51, nats-server 2.12+).

One stream, ``SCHEDULES``, holds both sides: the schedule messages on
``schedules.deadline.<token>.<reminder>`` and, when one fires, the reminder the server produces on
``reminders.deadline.<token>.<reminder>`` (the server only produces into the schedule's own stream).
``<token>`` is a hash naming one institution's copy of a deadline (the key may hold characters a
subject cannot).

A schedule subject holds at most one message (the server stores schedules with a subject rollup), so
publishing a new schedule replaces the old one, and a reminder that no longer applies is purged. The
timers are infrastructure, not domain events, so they are published after the consumer's transaction
commits, not through the outbox; ``Deadline.schedule_revision`` records what NATS holds, and the
reconciler republishes whatever lags behind. ``Nats-Msg-Id`` is derived from the deadline, its due
time, the reminder and the revision, so a republish of the same timers is dropped as a duplicate.

Throughput: deadlines are synced in batches (one read, one UPDATE per batch), their schedules
published asynchronously (``publish_async``, acknowledgements awaited together), and nothing is purged
for a deadline never scheduled before: a new deadline has nothing in NATS to remove.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, Header, RetentionPolicy, StorageType, StreamConfig

from comitas_shared.auth import InstitutionId
from comitas_shared.clock import Clock, real_now
from comitas_shared.db import Database
from comitas_shared.events.nats import NatsHandle, ensure_stream
from comitas_shared.tasks import cancel_and_wait

from ..settings import NotificationsSettings
from . import repository
from .domain import DeadlineState, ReminderOffsets, Timing, reminder_plan
from .policy import ReminderPolicy

log = logging.getLogger(__name__)

SCHEDULES_STREAM = "SCHEDULES"
SCHEDULE_PREFIX = "schedules.deadline"
REMINDER_PREFIX = "reminders.deadline"
DUPLICATE_WINDOW = timedelta(minutes=10)
PUBLISH_TIMEOUT = 10.0


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


def deadline_token(institution_id: str, deadline_key: str, *, owner: str | None = None) -> str:
    """Names one institution's copy of a deadline. The owner's own copy keeps the token deadlines had
    before they could concern other institutions, so its timers already in NATS stay its timers."""
    raw = f"{institution_id}\x00{deadline_key}" if owner in (None, institution_id) \
        else f"{institution_id}\x00{owner}\x00{deadline_key}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


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
    def __init__(self, *, database: Database, nats: NatsHandle, settings: NotificationsSettings,
                 policy: ReminderPolicy | None = None, clock: Clock = real_now) -> None:
        self.database = database
        # NATS fires schedules on its own wall clock, so which reminders are still ahead is decided by
        # the same clock in production; tests may pass another to plan as of a pinned day.
        self.clock = clock
        self.nats = nats
        self.settings = settings
        self.policy = policy or ReminderPolicy.from_settings(settings)
        self.batch = settings.deadline_timer_batch
        self._pending: dict[tuple[str, str], None] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # SQLite has no row locks: one sync at a time in this process (SQLite means one replica).
        self._local_lock = asyncio.Lock()
        # One JetStream context per connection: each sets up its own inbox for asynchronous acks.
        self._js: JetStreamContext | None = None
        self._js_client: Any = None

    def request_sync(self, deadlines: set[tuple[str, str]]) -> None:
        """After a commit that changed deadlines: bring their timers in step now, not at the next scan."""
        self._pending.update(dict.fromkeys(deadlines))
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
            while self._pending:
                chunk = list(self._pending)[: self.batch]
                for key in chunk:
                    self._pending.pop(key, None)
                await self._sync_logged(chunk)
            if time.monotonic() >= next_scan:
                try:
                    await self.reconcile()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the next scan tries again
                    log.info("deadline timers: reconcile failed (%s)", exc)
                next_scan = time.monotonic() + self.settings.deadline_reconcile_seconds
            if self._pending:
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_scan - time.monotonic()))

    async def _sync_logged(self, deadlines: Sequence[tuple[str, str]]) -> None:
        try:
            await self.sync_many(deadlines)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the reconciler republishes what this missed
            log.info("deadline timers: sync of %s deadlines failed (%s); the reconciler will retry",
                     len(deadlines), exc)

    async def reconcile(self) -> int:
        """Every deadline whose timers lag behind: publish or purge them. Returns how many were synced."""
        total = 0
        while True:
            async with self.database.transaction() as session:
                lagging = await repository.out_of_schedule(session, limit=self.batch)
            if not lagging:
                return total
            synced = await self.sync_many(lagging)
            total += synced
            if len(lagging) < self.batch or synced == 0:
                return total

    async def sync(self, institution_id: InstitutionId, deadline_id: str) -> None:
        await self.sync_many([(institution_id, deadline_id)])

    async def sync_many(self, deadlines: Sequence[tuple[str, str]]) -> int:
        """Brings the timers of ``deadlines`` (institution id, deadline id) in step with their rows.
        Returns how many deadlines it synced."""
        js = self._jetstream()  # ConnectionError while NATS is away: the rows keep lagging, the scan retries
        # The row locks (PostgreSQL) or the process lock (SQLite) serialise syncs of one deadline, so a
        # stale sync can never overwrite the timers of a newer revision.
        local = self._local_lock if self.database.is_sqlite else contextlib.nullcontext()
        async with local, self.database.transaction() as session:
            rows = await repository.lagging(session, deadlines, for_update=not self.database.is_sqlite)
            if not rows:
                return 0
            pairs = {(row.institution_id, row.kind) for row in rows}
            found = {(s.institution_id, s.kind): s for s in await repository.settings_for_many(session, pairs)}
            offsets = {pair: self.policy.offsets(found.get(pair)) for pair in pairs}
            now = self.clock()
            pending: list[tuple[Any, list[asyncio.Future[Any]], list[str]]] = []
            for row in rows:
                futures, names = await self._publish(js, row, offsets[(row.institution_id, row.kind)], now)
                pending.append((row, futures, names))
            futures_all = [f for _, futures, _ in pending for f in futures]
            if futures_all:
                done, not_done = await asyncio.wait(futures_all, timeout=PUBLISH_TIMEOUT)
                for future in not_done:
                    future.cancel()
            marks = []
            for row, futures, names in pending:
                if all(f.done() and not f.cancelled() and f.exception() is None for f in futures):
                    marks.append({"b_id": row.id, "b_revision": row.revision, "b_reminders": names,
                                  "b_for": row.due_at if row.state == DeadlineState.OPEN else None})
                else:
                    failed = next((f.exception() for f in futures if f.done() and not f.cancelled()
                                   and f.exception() is not None), "no acknowledgement")
                    log.info("deadline timers: %s not fully published (%s); will retry", row.id, failed)
            await repository.mark_scheduled(session, marks)
            return len(marks)

    def _jetstream(self) -> JetStreamContext:
        client = self.nats.client
        if not self.nats.connected:
            raise ConnectionError("NATS is not connected")
        if self._js is None or self._js_client is not client:
            self._js, self._js_client = client.jetstream(), client
        return self._js

    async def _publish(self, js: JetStreamContext, row: Any, offsets: ReminderOffsets,
                       now: datetime) -> tuple[list[asyncio.Future[Any]], list[str]]:
        """Purges what must go and publishes (without waiting) what must be set; returns the publishes'
        acknowledgement futures and the reminders then set."""
        token = row.timer_token
        if row.state != DeadlineState.OPEN or row.paused_since is not None:
            # Closed or paused: every timer goes (whatever a crashed sync may have left).
            await js.purge_stream(SCHEDULES_STREAM, subject=f"{SCHEDULE_PREFIX}.{token}.>")
            return [], []
        timing = _timing(row)
        plan = reminder_plan(timing, offsets, now=now, on_the_day_at=self.policy.on_the_day_at)
        names = [r.name for r in plan]
        if row.schedule_revision is not None:
            # Reminders set before and not wanted now (the deadline moved closer, the institution changed
            # its offsets) must not fire. A deadline never scheduled has nothing to purge.
            for name in sorted(set(row.scheduled_reminders or ()) - set(names)):
                await js.purge_stream(SCHEDULES_STREAM, subject=schedule_subject(token, name))
        futures = []
        for reminder in plan:
            message_id = timer_id(row.institution_id, token, row.due_at, reminder.name, row.revision)
            body = {
                "timer_id": message_id, "deadline_id": row.id, "institution_id": row.institution_id,
                "deadline_key": row.deadline_key, "reminder": reminder.name, "fire_at": rfc3339(reminder.fire_at),
                "due_at": rfc3339(row.due_at), "revision": row.revision,
            }
            futures.append(await js.publish_async(
                schedule_subject(token, reminder.name),
                json.dumps(body, separators=(",", ":")).encode(),
                headers={
                    Header.SCHEDULE.value: f"@at {rfc3339(reminder.fire_at)}",
                    Header.SCHEDULE_TARGET.value: reminder_subject(token, reminder.name),
                    Header.SCHEDULE_TTL.value: f"{self.settings.reminder_retention_hours}h",
                    Header.MSG_ID.value: message_id,
                },
                # No wait_stall: with one, every publish becomes a task of its own and a write of its own.
            ))
        return futures, names


def _timing(row: Any) -> Timing:
    """What the reminder plan needs of a deadline's timing (a row of ``repository.TIMER_COLUMNS``)."""
    return Timing(last_day=row.last_day, time_zone=row.time_zone, due_at=row.due_at, calendar="",
                  holidays_version=None, calendar_data_version=None, complete=None, paused_since=row.paused_since)
