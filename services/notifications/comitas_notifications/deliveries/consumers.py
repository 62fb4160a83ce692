from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.events.consumer import DurableConsumer, EventConsumer, decode_cloudevent
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.telemetry import SpanKind, current_traceparent, span_from_headers

from . import service

WEBHOOKS_CONSUMER = "notifications-webhooks"
# Every event of every service passes here (a busy minute brings thousands: deadline requests, their
# reminders). One transaction per event cost about 1.1 ms of CPU each, one per batch about 0.3 ms
# (docs/benchmarks.md); one worker keeps the events in stream order, as before. Batches stay small and
# write their inbox rows last, so on SQLite the write lock is taken at the batch's first write (a
# delivery, or the inbox rows at the end), not held while it reads: the deadline and reminder consumers
# write to the same file.
FANOUT_BATCH = 50


def webhook_consumer(platform: Platform, digests: service.DigestPolicy | None = None, *,
                     give_way_to: Callable[[], bool] | None = None, give_way_seconds: float = 10.0) -> EventConsumer:
    """Every event on ``events.>`` (not one catalogue type: the fan-out decides per type whether it is
    deliverable), so a durable consumer of CloudEvents rather than a typed dispatcher. It feeds every
    channel (webhooks and e-mail, immediate and daily digests); the name is kept from when webhooks were
    the only one, since a durable consumer's name is its position in the stream.

    A fetched batch is handled in one transaction, acked after its commit (the shared consumer's batch
    mode); a batch that fails is handled again one event at a time, so one bad event is retried alone."""

    async def handle(session: AsyncSession, event: CloudEvent, batch: service.BatchReads | None = None) -> None:
        # The trace of this processing span (child of the publish, itself in the request's trace), so
        # every attempt, however late, lands in the trace of the request that caused the event.
        await service.enqueue_for_event(session, event, traceparent=current_traceparent() or event.traceparent,
                                        now=platform.clock(), digest=digests, batch=batch)

    async def handle_batch(session: AsyncSession, events: list[CloudEvent]) -> None:
        # Subscriptions are read once for the batch, not once per event and institution.
        batch = await service.read_for_batch(session, events)
        for event in events:
            # Each event its own processing span, child of its own publish (the batch's span is the
            # first message's): its deliveries stay in the trace of the request that caused it.
            with span_from_headers(f"{event.nats_subject} process",
                                   {"traceparent": event.traceparent} if event.traceparent else {},
                                   kind=SpanKind.CONSUMER,
                                   attributes={"messaging.system": "nats", "messaging.message.id": event.id}):
                await handle(session, event, batch)

    return DurableConsumer(name=WEBHOOKS_CONSUMER, subjects=["events.>"], decode=decode_cloudevent, handler=handle,
                           batch_handler=handle_batch, batch=FANOUT_BATCH, inbox_last=True,
                           database=platform.database, tables=platform.tables, nats=platform.nats,
                           give_way_to=give_way_to, give_way_seconds=give_way_seconds)
