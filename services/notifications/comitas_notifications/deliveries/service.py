"""Deliveries: created from events, read and redelivered through the API."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.errors import Conflict, NotFound
from comitas_shared.events.catalogue import CATALOGUE
from comitas_shared.events.envelope import CloudEvent, new_event_id
from comitas_shared.pagination import PageRequest, page_of

from ..subscriptions import repository as subscriptions
from ..subscriptions.domain import matches
from . import repository
from .domain import DeliveryState, can_redeliver
from .models import Delivery
from .schemas import AttemptOut, DeliveryDetail, DeliveryOut, DeliveryPage

# Set on a session that created or reset deliveries: after its commit the worker is woken at once.
WAKE_WORKER = "comitas_notifications_wake_worker"


def is_deliverable(event: CloudEvent) -> bool:
    entry = CATALOGUE.get(event.type)
    return entry is not None and entry.external


async def enqueue_for_event(session: AsyncSession, event: CloudEvent, *, traceparent: str | None) -> int:
    """One pending delivery per matching subscription of each institution the event concerns."""
    if not is_deliverable(event):
        return 0
    now = datetime.now(UTC)
    envelope = event.to_record()
    created = 0
    for concerned in dict.fromkeys(event.concerned_institutions):
        institution_id = institution_id_for_system(concerned)
        for subscription in await subscriptions.active(session, institution_id):
            if not matches(subscription.event_types, event.type):
                continue
            await repository.add(session, Delivery(
                id=new_event_id(), institution_id=institution_id, subscription_id=subscription.id,
                event_id=event.id, event_type=event.type, envelope=envelope, traceparent=traceparent,
                state=DeliveryState.PENDING, attempt_count=0, next_attempt_at=now, created_at=now, updated_at=now,
            ))
            created += 1
    if created:
        session.info[WAKE_WORKER] = True
    return created


def to_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery, from_attributes=True)


async def list_page(session: AsyncSession, *, institution_id: InstitutionId, page: PageRequest,
                    state: DeliveryState | None, subscription_id: str | None) -> DeliveryPage:
    rows = await repository.list_page(session, institution_id, page, state=state, subscription_id=subscription_id)
    items, cursor = page_of(rows, page, lambda d: (d.created_at, d.id))
    return DeliveryPage(items=[to_out(d) for d in items], next_cursor=cursor)


async def get(session: AsyncSession, *, institution_id: InstitutionId, delivery_id: str) -> DeliveryDetail:
    delivery = await repository.get(session, institution_id, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    attempts = await repository.attempts(session, institution_id, delivery_id)
    return DeliveryDetail(**to_out(delivery).model_dump(),
                          attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts])


async def redeliver(session: AsyncSession, *, institution_id: InstitutionId, delivery_id: str) -> DeliveryDetail:
    delivery = await repository.get(session, institution_id, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    if not can_redeliver(delivery.state):
        raise Conflict(f"a {delivery.state} delivery cannot be redelivered", slug="delivery-not-redeliverable",
                       title="Delivery not redeliverable", state=delivery.state)
    if await subscriptions.get(session, institution_id, delivery.subscription_id) is None:
        raise Conflict("the subscription of this delivery was deleted", slug="subscription-deleted",
                       title="Subscription deleted")
    now = datetime.now(UTC)
    delivery.state = DeliveryState.PENDING
    delivery.attempt_count = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    delivery.updated_at = now
    await session.flush()
    session.info[WAKE_WORKER] = True
    return await get(session, institution_id=institution_id, delivery_id=delivery_id)
