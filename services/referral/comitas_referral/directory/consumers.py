"""identity's directory events, into referral's read model of who can take a case."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.events.catalogue import (
    INSTITUTION_REGISTERED,
    INSTITUTION_UPDATED,
    InstitutionRegistered,
    InstitutionUpdated,
)
from comitas_shared.events.consumer import EventConsumer, EventDispatcher, event_consumer
from comitas_shared.events.envelope import CloudEvent

from . import service

DIRECTORY_CONSUMER = "referral-directory"


def directory_consumer(platform: Platform) -> EventConsumer:
    async def registered(session: AsyncSession, data: InstitutionRegistered, event: CloudEvent) -> None:
        await service.apply_event(session, data, now=platform.clock())

    async def updated(session: AsyncSession, data: InstitutionUpdated, event: CloudEvent) -> None:
        await service.apply_event(session, data, now=platform.clock())

    dispatcher = EventDispatcher().on(INSTITUTION_REGISTERED, registered).on(INSTITUTION_UPDATED, updated)
    return event_consumer(name=DIRECTORY_CONSUMER, dispatcher=dispatcher, database=platform.database,
                          tables=platform.tables, nats=platform.nats)
