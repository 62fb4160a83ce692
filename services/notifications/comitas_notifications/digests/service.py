"""Daily digests: which period an event belongs to, and the events a digest delivery gathered. The
digest itself is a delivery (``deliveries``), due at the end of its period and sent by the same worker,
with the same retries, as any other."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.events.envelope import CloudEvent, new_event_id

from . import repository
from .domain import Window, following, window_containing
from .models import DigestItem

__all__ = ["Window", "add_event", "events_of", "following", "window_containing"]


async def add_event(session: AsyncSession, *, institution_id: InstitutionId, delivery_id: str, event: CloudEvent,
                    now: datetime) -> bool:
    """Adds an event to a digest (once: the same event twice is one item). Returns whether it was new."""
    if await repository.holds(session, institution_id, delivery_id, event.id):
        return False
    await repository.add(session, DigestItem(
        id=new_event_id(), institution_id=institution_id, delivery_id=delivery_id, event_id=event.id,
        event_type=event.type, envelope=event.to_record(), added_at=now))
    return True


async def events_of(session: AsyncSession, *, institution_id: InstitutionId, delivery_id: str) -> list[CloudEvent]:
    """The digest's events in the order they arrived."""
    return [CloudEvent.from_record(item.envelope) for item in await repository.items(session, institution_id,
                                                                                      delivery_id)]
