"""The transactional outbox and its relay.

A service never publishes: it calls :func:`add_event` inside the request's transaction, so the
business row and the event commit together or not at all. :class:`OutboxRelay` publishes committed
rows in ``seq`` order with ``Nats-Msg-Id`` = the event id, so a publish retried after a crash (published
but not yet marked) is dropped by JetStream's duplicate window. It sends a claimed batch pipelined and
awaits the acknowledgements together (ADR 0003, revised 2026-12-01). Several replicas may run the relay:
on PostgreSQL each claims its batch with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import real_now
from ..db import Database
from ..platform_tables import PlatformTables
from ..tasks import cancel_and_wait
from ..telemetry import SpanKind, current_traceparent, inject, span_from_headers
from .consumer import give_way
from .envelope import CloudEvent

log = logging.getLogger(__name__)

PENDING_KEY = "comitas_outbox_pending"


async def add_event(session: AsyncSession, tables: PlatformTables, event: CloudEvent) -> CloudEvent:
    """Stage ``event`` in the outbox of the current transaction. Captures the current trace context."""
    if event.traceparent is None:
        traceparent = current_traceparent()
        if traceparent:
            event = event.model_copy(update={"traceparent": traceparent})
    await add_events(session, tables, [event])
    return event


async def add_events(session: AsyncSession, tables: PlatformTables, events: Sequence[CloudEvent]) -> None:
    """Stage several events in the current transaction with one statement (a batch consumer writing an
    event per message). Captures the current trace context, like :func:`add_event`."""
    if not events:
        return
    traceparent = current_traceparent()
    rows = []
    for event in events:
        envelope = event.to_record()
        if envelope.get("traceparent") is None and traceparent:
            # In the stored envelope only: a copy of each event would cost more than the rest of a batch.
            envelope["traceparent"] = traceparent
        rows.append({"event_id": event.id, "event_type": event.type, "subject": event.nats_subject,
                     "institution_id": event.institutionid, "occurred_at": event.time, "envelope": envelope,
                     "attempts": 0})
    await session.execute(insert(tables.outbox), rows)
    session.info[PENDING_KEY] = True


class OutboxRelay:
    def __init__(
        self,
        *,
        database: Database,
        tables: PlatformTables,
        js: Callable[[], JetStreamContext],
        poll_seconds: float = 0.5,
        batch_size: int = 100,
        publish_timeout: float = 2.0,
        coalesce_seconds: float = 0.005,
    ) -> None:
        self.database = database
        self.tables = tables
        self._js = js
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.publish_timeout = publish_timeout
        # After a wake-up, how long the relay lets other commits land before its pass: concurrent
        # requests then leave in one pass (one claim, one UPDATE) rather than a pass each.
        self.coalesce_seconds = coalesce_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._context: JetStreamContext | None = None
        # Set by a service whose consumers must not wait behind the relay during a burst (notifications'
        # reminders): before each pass, while it returns True, the relay waits (up to
        # ``give_way_seconds`` at a time). Events then leave later; none is lost.
        self.give_way_to: Callable[[], bool] | None = None
        self.give_way_seconds = 10.0

    def wake(self) -> None:
        """Called after a commit that staged events, so they go out now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        await cancel_and_wait(self._task)
        self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await give_way(self.give_way_to, self.give_way_seconds)
                published = await self.publish_pending()
            except Exception:
                log.exception("outbox relay: pass failed")
                published = 0
            if published < self.batch_size:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                if self._wake.is_set() and not self._stopping and self.coalesce_seconds > 0:
                    await asyncio.sleep(self.coalesce_seconds)

    async def publish_pending(self) -> int:
        """One pass: publish up to ``batch_size`` committed events; returns how many JetStream stored.

        The claimed batch is handed to NATS in ``seq`` order without waiting (``publish_async``), then
        the acknowledgements are awaited together, and every event JetStream acknowledged is marked
        published. An event that fails (no acknowledgement within ``publish_timeout``, an error) stays
        unpublished with its error, and so does every later one not acknowledged; the next pass sends
        them again, first the failed one, and JetStream's duplicate window drops any copy it already
        stored. Events of one service therefore enter the stream in order unless a publish fails in
        the middle of a batch, when later events may be stored before the failed one's retry (ADR 0003).
        """
        js = self._jetstream()
        if js is None:
            return 0
        outbox = self.tables.outbox
        async with self.database.transaction() as session:
            query = (
                select(outbox.c.seq, outbox.c.envelope)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.seq)
                .limit(self.batch_size)
            )
            if not self.database.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            if not rows:
                return 0
            # Publish first, write after: on SQLite the write lock is then held for one UPDATE, not
            # for a round of NATS acknowledgements (requests would queue behind it).
            acknowledged, failed = await self._publish_batch(js, rows)
            if acknowledged:
                await session.execute(
                    update(outbox).where(outbox.c.seq.in_(acknowledged))
                    .values(published_at=real_now(), attempts=outbox.c.attempts + 1, last_error=None)
                )
            if failed is not None:
                await session.execute(
                    update(outbox).where(outbox.c.seq == failed[0])
                    .values(attempts=outbox.c.attempts + 1, last_error=failed[1])
                )
        return len(acknowledged)

    async def _publish_batch(self, js: JetStreamContext,
                             rows: Sequence[Any]) -> tuple[list[int], tuple[int, str] | None]:
        """Sends ``rows`` (seq, envelope) pipelined and awaits their acknowledgements. Returns the seqs
        JetStream acknowledged and the first failure (its seq and error), if any."""
        sent: list[tuple[int, asyncio.Future[Any]]] = []
        refused: tuple[int, str] | None = None
        for seq, envelope in rows:
            event = CloudEvent.from_record(envelope)
            try:
                sent.append((seq, await self._publish(js, event)))
            except Exception as exc:  # noqa: BLE001 - refused before it left: nothing after it is sent
                refused = (seq, _describe(exc))
                if not isinstance(exc, EventTooLarge):
                    # publish_async raised after registering its acknowledgement, which then never
                    # frees its slot in this context: the next pass builds a new one.
                    self._context = None
                break
        if sent:
            _, waiting = await asyncio.wait([future for _, future in sent], timeout=self.publish_timeout)
            for future in waiting:
                future.cancel()  # frees its slot in the client's pending acknowledgements
        acknowledged: list[int] = []
        failures: list[tuple[int, str]] = []
        for seq, future in sent:
            if future.cancelled():
                failures.append((seq, f"no acknowledgement within {self.publish_timeout} s"))
            elif (error := future.exception()) is not None:
                failures.append((seq, _describe(error)))
            else:
                acknowledged.append(seq)
        if refused is not None:
            failures.append(refused)
        failed = failures[0] if failures else None
        if failed is not None:
            log.info("outbox relay: %d of %d events not published (first: seq %d, %s); will retry",
                     len(rows) - len(acknowledged), len(rows), failed[0], failed[1])
        return acknowledged, failed

    def _jetstream(self) -> JetStreamContext | None:
        """The JetStream context of the current connection, or None while NATS is away.

        The context is kept across passes: ``publish_async`` subscribes a reply inbox per context, so a
        new context a pass would leave a subscription behind each time. A pass while disconnected
        would only fill the client's reconnect buffer with messages no one acknowledges.
        """
        try:
            current = self._js()
        except ConnectionError:
            return None
        # nats-py keeps the connection in ``_nc`` and exposes no accessor for it.
        client = current._nc
        if not client.is_connected:
            return None
        if self._context is None or self._context._nc is not client:
            self._context = current
        return self._context

    async def _publish(self, js: JetStreamContext, event: CloudEvent) -> asyncio.Future[Any]:
        """Hands ``event`` to NATS and returns the future of JetStream's acknowledgement."""
        parent = {"traceparent": event.traceparent} if event.traceparent else {}
        with span_from_headers(f"{event.nats_subject} publish", parent, kind=SpanKind.PRODUCER,
                               attributes={"messaging.system": "nats", "messaging.destination.name":
                                           event.nats_subject, "messaging.message.id": event.id}):
            headers = event.nats_headers()
            # The publish span becomes the parent of whoever consumes the message.
            headers.pop("traceparent", None)
            inject(headers)
            body = event.nats_body()
            limit = js._nc.max_payload
            if limit and len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items()) > limit:
                # Checked here because publish_async, refusing it, would keep its acknowledgement slot.
                raise EventTooLarge(f"{len(body)} bytes and headers exceed NATS's max_payload of {limit}")
            # No wait_stall: with one, every publish becomes a task of its own.
            return await js.publish_async(event.nats_subject, body, headers=headers)


class EventTooLarge(ValueError):
    """An event larger than the server accepts: it stays in the outbox, with this error, until fixed."""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def install_relay_wakeup(database: Database, relay: OutboxRelay) -> None:
    """Wake the relay after any commit that staged outbox rows."""
    from sqlalchemy import event as sa_event

    def after_commit(session: Any) -> None:
        if session.info.pop(PENDING_KEY, False):
            relay.wake()

    sa_event.listen(database.sync_session_class, "after_commit", after_commit)
