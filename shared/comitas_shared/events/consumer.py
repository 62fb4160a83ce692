"""Durable JetStream consumers with explicit ack and an inbox, so a redelivery changes nothing.

Each message is one transaction: the handler's writes and the inbox row commit together, then the
message is acked. A crash before the ack redelivers the message; the inbox row makes the second run a
no-op. A handler that raises is nak'ed with a growing delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Database
from ..platform_tables import PlatformTables
from ..tasks import cancel_and_wait
from ..telemetry import SpanKind, span_from_headers
from .envelope import CloudEvent
from .nats import EVENTS_STREAM, NatsHandle

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


async def claim_in_inbox(session: AsyncSession, tables: PlatformTables, consumer: str, event_id: str) -> bool:
    """True when this consumer has not handled ``event_id`` yet; records it in the current transaction."""
    inbox = tables.inbox
    seen = await session.execute(
        select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
    )
    if seen.first() is not None:
        return False
    await session.execute(insert(inbox).values(consumer=consumer, event_id=event_id, handled_at=datetime.now(UTC)))
    return True


class EventConsumer:
    """Pulls from a durable consumer on the EVENTS stream and hands each event to ``handler``."""

    def __init__(
        self,
        *,
        name: str,
        subjects: list[str],
        handler: Handler,
        database: Database,
        tables: PlatformTables,
        nats: NatsHandle,
        stream: str = EVENTS_STREAM,
        ack_wait: float = 30.0,
        max_deliver: int = -1,
        batch: int = 20,
    ) -> None:
        self.name = name
        self.subjects = subjects
        self.handler = handler
        self.database = database
        self.tables = tables
        self.nats = nats
        self.stream = stream
        self.ack_wait = ack_wait
        self.max_deliver = max_deliver
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        self._subscription = None

    def config(self) -> ConsumerConfig:
        config = ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
            max_ack_pending=1000,
        )
        if len(self.subjects) == 1:
            config.filter_subject = self.subjects[0]
        else:
            config.filter_subjects = self.subjects
        return config

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        # A fetch cancelled mid-flight can still receive a message or a pull status afterwards; left
        # subscribed, it sits unread in the pending queue and the connection's drain waits for it
        # (drain_timeout, 30 s) on shutdown. Unsubscribed, the drain skips it; JetStream redelivers.
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    async def _subscribe(self, js: JetStreamContext):
        with contextlib.suppress(Exception):
            await js.add_consumer(self.stream, self.config())
        self._subscription = await js.pull_subscribe_bind(durable=self.name, stream=self.stream)
        return self._subscription

    async def _run(self) -> None:
        subscription = None
        while True:
            try:
                if subscription is None:
                    await self.nats.wait_ready()
                    subscription = await self._subscribe(self.nats.js)
                try:
                    messages = await subscription.fetch(self.batch, timeout=1.0)
                except (TimeoutError, NatsTimeoutError):
                    # nats-py raises the plain asyncio.TimeoutError too (deadline spent between its two
                    # pull requests): an empty fetch either way, not a reason to resubscribe.
                    continue
                for message in messages:
                    await self.handle(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS away, consumer gone: resubscribe
                log.info("consumer %s: %s; resubscribing", self.name, exc)
                if subscription is not None:
                    with contextlib.suppress(Exception):
                        await subscription.unsubscribe()
                subscription = None
                await asyncio.sleep(0.5)

    async def handle(self, message) -> None:
        try:
            event = CloudEvent.from_nats(message.headers, message.data)
        except Exception:  # noqa: BLE001 - a message we cannot read will never become readable
            log.error("consumer %s: unreadable message on %s; terminating it", self.name, message.subject)
            await message.term()
            return
        with span_from_headers(f"{message.subject} process", message.headers, kind=SpanKind.CONSUMER,
                               attributes={"messaging.system": "nats", "messaging.consumer.group.name": self.name,
                                           "messaging.message.id": event.id}):
            try:
                async with self.database.transaction() as session:
                    if await claim_in_inbox(session, self.tables, self.name, event.id):
                        await self.handler(session, event)
            except Exception:
                attempt = message.metadata.num_delivered if message.metadata else 1
                delay = min(0.5 * 2 ** (attempt - 1), 60.0)
                log.exception("consumer %s: handling %s failed (attempt %s)", self.name, event.id, attempt)
                await message.nak(delay=delay)
                return
        await message.ack()


async def follow_subject(
    nats: NatsHandle, subject: str, since: timedelta, callback: Callable[[CloudEvent], Awaitable[None]],
    *, stream: str = EVENTS_STREAM, check_every: float = 2.0,
) -> None:
    """Every event on ``subject`` from ``now - since``, to every replica (no durable: each process gets
    all). Used for the token deny-list, which each replica holds in memory.

    An ephemeral pull consumer is recreated from the last sequence seen whenever it disappears (NATS
    restarted, the consumer was reaped), so nothing is missed across a NATS outage."""
    last_sequence: int | None = None
    subscription = None
    while True:
        try:
            await nats.wait_ready()
            js = nats.js
            if last_sequence is None:
                start = (datetime.now(UTC) - since).isoformat().replace("+00:00", "Z")
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start,
                                        ack_policy=AckPolicy.NONE, inactive_threshold=300)
            else:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                        opt_start_seq=last_sequence + 1, ack_policy=AckPolicy.NONE,
                                        inactive_threshold=300)
            subscription = await js.pull_subscribe(subject, durable=None, stream=stream, config=config)
            idle_since = asyncio.get_running_loop().time()
            while True:
                try:
                    messages = await subscription.fetch(100, timeout=check_every)
                except NatsTimeoutError:
                    messages = []
                for message in messages:
                    if message.metadata and message.metadata.sequence:
                        last_sequence = message.metadata.sequence.stream
                    with contextlib.suppress(Exception):
                        await callback(CloudEvent.from_nats(message.headers, message.data))
                if messages:
                    idle_since = asyncio.get_running_loop().time()
                elif asyncio.get_running_loop().time() - idle_since >= check_every:
                    # Quiet: make sure the consumer still exists (it does not survive a NATS restart).
                    await subscription.consumer_info()
                    idle_since = asyncio.get_running_loop().time()
        except asyncio.CancelledError:
            # Left subscribed, the connection's drain would wait for it on shutdown.
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
            raise
        except Exception as exc:  # noqa: BLE001
            log.info("follow %s: %s; recreating the consumer", subject, exc)
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
            subscription = None
            await asyncio.sleep(0.5)
