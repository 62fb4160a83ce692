"""Two durable consumers feed the member organisations' feeds (ADR 0033):

- ``notifications-feeds`` copies every event that concerns an institution, minimised, to its feed, a
  batch at a time (publish asynchronously, wait for JetStream to store the whole batch, then the inbox
  commit and the acks): at the volumes of ADR 0031 a message at a time would be the bottleneck;
- ``notifications-feed-accounts`` follows the directory: an institution registered gets its account
  pushed to NATS and its durable consumer, an institution updated gets its account pushed again (a
  deactivated one admits no connection from then on). Directory events can arrive out of order (a
  redelivery, the relay's retry: ADR 0003), so the account is pushed with the newest entry's ``active``,
  not the event's: the handler first applies the event to the directory's read model (only if newer,
  as the directory's own consumer does; applying it twice changes nothing), then reads it back.

Both are idempotent: the inbox and JetStream's duplicate window for the copies, the account and the
consumer being the same whatever the number of times they are made."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId
from comitas_shared.events.catalogue import (
    INSTITUTION_REGISTERED,
    INSTITUTION_UPDATED,
    InstitutionRegistered,
    InstitutionUpdated,
)
from comitas_shared.events.consumer import (
    DurableConsumer,
    EventConsumer,
    EventDispatcher,
    decode_cloudevent,
    event_consumer,
)
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.nats_auth import usable_institution_id

from ..directory import service as directory
from .broker import FeedBroker
from .domain import feed_messages

FEEDS_CONSUMER = "notifications-feeds"
FEED_ACCOUNTS_CONSUMER = "notifications-feed-accounts"
FEEDS_BATCH = 200


def feeds_consumer(platform: Platform, broker: FeedBroker, *, give_way_to: Callable[[], bool] | None = None,
                   give_way_seconds: float = 10.0) -> EventConsumer:
    async def copy(session: AsyncSession, events: list[CloudEvent]) -> None:
        await broker.publish([message for event in events for message in feed_messages(event)])

    return DurableConsumer(name=FEEDS_CONSUMER, subjects=["events.>"], decode=decode_cloudevent, batch_handler=copy,
                           batch=FEEDS_BATCH, workers=1, inbox_last=True, database=platform.database,
                           tables=platform.tables, nats=platform.nats, give_way_to=give_way_to,
                           give_way_seconds=give_way_seconds)


def feed_accounts_consumer(platform: Platform, broker: FeedBroker) -> EventConsumer:
    async def prepare(session: AsyncSession, institution_id: str) -> None:
        if not usable_institution_id(institution_id):
            return
        await broker.ensure_consumer(institution_id)
        if broker.issues_credentials:
            newest = await directory.active(session, institution_id=InstitutionId(institution_id))
            await broker.sync_account(institution_id, active=newest is not False)

    async def registered(session: AsyncSession, data: InstitutionRegistered, event: CloudEvent) -> None:
        await directory.apply_entry(session, data, contact_changed=True, now=platform.clock())
        await prepare(session, data.institution_id)

    async def updated(session: AsyncSession, data: InstitutionUpdated, event: CloudEvent) -> None:
        await directory.apply_entry(session, data, contact_changed="contact" in data.changed, now=platform.clock())
        if "active" in data.changed or not data.active:
            await prepare(session, data.institution_id)

    dispatcher = EventDispatcher().on(INSTITUTION_REGISTERED, registered).on(INSTITUTION_UPDATED, updated)
    return event_consumer(name=FEED_ACCOUNTS_CONSUMER, dispatcher=dispatcher, database=platform.database,
                          tables=platform.tables, nats=platform.nats)
