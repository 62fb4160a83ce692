"""The transactional outbox and its relay.

A service never publishes: it calls :func:`add_event` inside the request's transaction, so the
business row and the event commit together or not at all. :class:`OutboxRelay` publishes committed
rows in order with ``Nats-Msg-Id`` = the event id, so a publish retried after a crash (published but
not yet marked) is dropped by JetStream's duplicate window. Several replicas may run the relay: on
PostgreSQL each claims its batch with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from nats.js import JetStreamContext
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Database
from ..platform_tables import PlatformTables
from ..tasks import cancel_and_wait
from ..telemetry import SpanKind, current_traceparent, inject, span_from_headers
from .envelope import CloudEvent

log = logging.getLogger(__name__)

PENDING_KEY = "comitas_outbox_pending"


async def add_event(session: AsyncSession, tables: PlatformTables, event: CloudEvent) -> CloudEvent:
    """Stage ``event`` in the outbox of the current transaction. Captures the current trace context."""
    if event.traceparent is None:
        traceparent = current_traceparent()
        if traceparent:
            event = event.model_copy(update={"traceparent": traceparent})
    await session.execute(
        insert(tables.outbox).values(
            event_id=event.id,
            event_type=event.type,
            subject=event.nats_subject,
            institution_id=event.institutionid,
            occurred_at=event.time,
            envelope=event.to_record(),
            attempts=0,
        )
    )
    session.info[PENDING_KEY] = True
    return event


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
    ) -> None:
        self.database = database
        self.tables = tables
        self._js = js
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.publish_timeout = publish_timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

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
                published = await self.publish_pending()
            except Exception:
                log.exception("outbox relay: pass failed")
                published = 0
            if published < self.batch_size:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def publish_pending(self) -> int:
        """One pass: publish up to ``batch_size`` committed events in order; returns how many went out.

        Stops at the first failure so that events of one service leave in the order they were written.
        """
        try:
            js = self._js()
        except ConnectionError:
            return 0
        outbox = self.tables.outbox
        published: list[int] = []
        failed: tuple[int, str] | None = None
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
            # Publish first, write after: on SQLite the write lock is then held for one UPDATE, not
            # for a round of NATS acknowledgements (requests would queue behind it).
            for seq, envelope in rows:
                event = CloudEvent.from_record(envelope)
                try:
                    await self._publish(js, event)
                except Exception as exc:  # noqa: BLE001
                    log.info("outbox relay: publish of %s failed (%s); will retry", event.id, exc)
                    failed = (seq, str(exc)[:500])
                    break
                published.append(seq)
            if published:
                await session.execute(
                    update(outbox).where(outbox.c.seq.in_(published))
                    .values(published_at=datetime.now(UTC), attempts=outbox.c.attempts + 1, last_error=None)
                )
            if failed is not None:
                await session.execute(
                    update(outbox).where(outbox.c.seq == failed[0])
                    .values(attempts=outbox.c.attempts + 1, last_error=failed[1])
                )
        return len(published)

    async def _publish(self, js: JetStreamContext, event: CloudEvent) -> None:
        parent = {"traceparent": event.traceparent} if event.traceparent else {}
        with span_from_headers(f"{event.nats_subject} publish", parent, kind=SpanKind.PRODUCER,
                               attributes={"messaging.system": "nats", "messaging.destination.name":
                                           event.nats_subject, "messaging.message.id": event.id}):
            headers = event.nats_headers()
            # The publish span becomes the parent of whoever consumes the message.
            headers.pop("traceparent", None)
            inject(headers)
            await js.publish(event.nats_subject, event.nats_body(), headers=headers,
                             timeout=self.publish_timeout)


def install_relay_wakeup(database: Database, relay: OutboxRelay) -> None:
    """Wake the relay after any commit that staged outbox rows."""
    from sqlalchemy import event as sa_event

    def after_commit(session) -> None:
        if session.info.pop(PENDING_KEY, False):
            relay.wake()

    sa_event.listen(database.sync_session_class, "after_commit", after_commit)
