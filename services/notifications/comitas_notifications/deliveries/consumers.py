from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.events.consumer import EventConsumer
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.telemetry import current_traceparent

from . import service

WEBHOOKS_CONSUMER = "notifications-webhooks"


def webhook_consumer(platform: Platform) -> EventConsumer:
    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        # The trace of this processing span (child of the publish, itself in the request's trace), so
        # every attempt, however late, lands in the trace of the request that caused the event.
        await service.enqueue_for_event(session, event, traceparent=current_traceparent() or event.traceparent)

    return EventConsumer(name=WEBHOOKS_CONSUMER, subjects=["events.>"], handler=handle,
                         database=platform.database, tables=platform.tables, nats=platform.nats)
