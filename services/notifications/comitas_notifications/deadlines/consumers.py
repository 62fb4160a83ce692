"""The deadline events from their owners, and the reminders the timers fire."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import institution_id_for_system
from comitas_shared.events.catalogue import DEADLINE_REQUESTED, DEADLINE_WITHDRAWN
from comitas_shared.events.consumer import EventConsumer, claim_in_inbox
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.telemetry import SpanKind, span_from_headers

from ..inbox import service as inbox
from . import repository, service
from .domain import reminder_applies, reminder_title
from .timers import REMINDER_PREFIX, SCHEDULES_STREAM

log = logging.getLogger(__name__)

DEADLINES_CONSUMER = "notifications-deadlines"
REMINDERS_CONSUMER = "notifications-reminders"


def deadline_consumer(platform: Platform) -> EventConsumer:
    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        if event.type == DEADLINE_REQUESTED.type:
            await service.apply_requested(session, event)
        elif event.type == DEADLINE_WITHDRAWN.type:
            await service.apply_withdrawn(session, event)

    return EventConsumer(name=DEADLINES_CONSUMER, subjects=["events.deadline.>"], handler=handle,
                         database=platform.database, tables=platform.tables, nats=platform.nats)


async def handle_reminder(session: AsyncSession, timer: dict[str, Any]) -> bool:
    """Records the reminder in the institution's inbox if the deadline is still open and has not moved
    since the timer was set (a purge can race with a firing timer). Returns whether it recorded one."""
    institution_id = institution_id_for_system(str(timer["institution_id"]))
    deadline = await repository.get(session, institution_id, str(timer["deadline_id"]))
    due_at = datetime.fromisoformat(str(timer["due_at"]))
    if deadline is None or not reminder_applies(deadline.state, deadline.due_at, reminder_due_at=due_at):
        return False
    return await inbox.add_deadline_reminder(
        session, institution_id=institution_id, deadline_id=deadline.id, deadline_key=deadline.deadline_key,
        title=reminder_title(deadline.title, str(timer["reminder"])), reminder=str(timer["reminder"]),
        due_at=deadline.due_at)


class ReminderConsumer(EventConsumer):
    """A durable consumer on the fired reminders in SCHEDULES. Their bodies are the timers' own JSON,
    not CloudEvents (a timer is not a domain event), so ``handle`` is this class's own; the inbox
    table still makes a redelivered reminder a no-op."""

    async def handle(self, message) -> None:  # a nats Msg
        try:
            timer = json.loads(message.data)
            timer_id = str(timer["timer_id"])
        except (ValueError, KeyError, TypeError):
            log.error("reminder on %s is unreadable; terminating it", message.subject)
            await message.term()
            return
        with span_from_headers(f"{message.subject} process", message.headers, kind=SpanKind.CONSUMER,
                               attributes={"messaging.system": "nats", "messaging.consumer.group.name": self.name,
                                           "messaging.message.id": timer_id}):
            try:
                async with self.database.transaction() as session:
                    if await claim_in_inbox(session, self.tables, self.name, timer_id):
                        await handle_reminder(session, timer)
            except Exception:  # nak with a growing delay, as EventConsumer does
                attempt = message.metadata.num_delivered if message.metadata else 1
                log.exception("reminder %s failed (attempt %s)", timer_id, attempt)
                await message.nak(delay=min(0.5 * 2 ** (attempt - 1), 60.0))
                return
        await message.ack()


def reminder_consumer(platform: Platform) -> ReminderConsumer:
    async def unused(session: AsyncSession, event: CloudEvent) -> None:  # handle() is overridden
        raise NotImplementedError

    return ReminderConsumer(name=REMINDERS_CONSUMER, subjects=[f"{REMINDER_PREFIX}.>"], handler=unused,
                            database=platform.database, tables=platform.tables, nats=platform.nats,
                            stream=SCHEDULES_STREAM)
