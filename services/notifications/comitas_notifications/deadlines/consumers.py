"""The deadline events from their owners, and the reminders the timers fire: both in batches (one
transaction per fetched batch, acks after its commit, several workers), since a busy day brings
thousands a minute."""

from __future__ import annotations

import json
from typing import Any

from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.events.consumer import (
    Decoded,
    DurableConsumer,
    EventConsumer,
    Undecodable,
    batch_event_consumer,
)

from ..settings import NotificationsSettings
from . import service
from .policy import ReminderPolicy
from .timers import REMINDER_PREFIX, SCHEDULES_STREAM

DEADLINES_CONSUMER = "notifications-deadlines"
REMINDERS_CONSUMER = "notifications-reminders"


def deadline_consumer(platform: Platform, settings: NotificationsSettings) -> EventConsumer:
    """``comitas.deadline.requested``, ``.withdrawn``, ``.paused``, ``.resumed`` and ``.extended``."""
    return batch_event_consumer(name=DEADLINES_CONSUMER, dispatcher=service.owner_events(platform.clock),
                                database=platform.database, tables=platform.tables, nats=platform.nats,
                                batch=settings.deadline_consumer_batch, workers=settings.deadline_consumer_workers)


def decode_timer(message: Msg) -> Decoded[dict[str, Any]]:
    """A fired reminder's body is the timer's own JSON, not a CloudEvent (a timer is not a domain
    event); its ``timer_id`` is what the inbox records, so a redelivered reminder is a no-op."""
    try:
        timer = json.loads(message.data)
        return Decoded(str(timer["timer_id"]), timer)
    except (ValueError, KeyError, TypeError) as exc:
        raise Undecodable(f"unreadable reminder: {exc}") from exc


def reminder_consumer(platform: Platform, settings: NotificationsSettings,
                      policy: ReminderPolicy) -> DurableConsumer[dict[str, Any]]:
    async def record(session: AsyncSession, timers: list[dict[str, Any]]) -> None:
        await service.record_reminders(session, platform.tables, timers, now=platform.clock(), policy=policy,
                                       source=platform.source)

    return DurableConsumer(name=REMINDERS_CONSUMER, subjects=[f"{REMINDER_PREFIX}.>"], decode=decode_timer,
                           batch_handler=record, database=platform.database, tables=platform.tables,
                           nats=platform.nats, stream=SCHEDULES_STREAM, batch=settings.reminder_consumer_batch,
                           workers=settings.reminder_consumer_workers or (1 if platform.database.is_sqlite else 2),
                           # Idempotent by its own key: one inbox item per deadline, reminder and due time
                           # (``record_reminders`` skips those already there, and the unique constraint
                           # stops a racing replica), and an event only with a new item. The consumer's
                           # inbox rows would only repeat that key, at a read and a write of its own per batch.
                           inbox=False)
