"""Every query on deliveries. Functions for one delivery take its institution; the worker's claim is the
one query across institutions, and it hands back each delivery's institution for the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.pagination import PageKey, PageRequest

from .domain import DeliveryState
from .models import Delivery, DeliveryAttempt

NEWEST_FIRST = PageKey(at=Delivery.created_at, id=Delivery.id)


async def add(session: AsyncSession, delivery: Delivery) -> None:
    session.add(delivery)
    await session.flush()


async def get(session: AsyncSession, institution_id: InstitutionId, delivery_id: str) -> Delivery | None:
    query = select(Delivery).where(Delivery.institution_id == institution_id, Delivery.id == delivery_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_page(session: AsyncSession, institution_id: InstitutionId, page: PageRequest, *,
                    state: str | None = None, subscription_id: str | None = None, channel: str | None = None,
                    kind: str | None = None) -> list[Delivery]:
    query = select(Delivery).where(Delivery.institution_id == institution_id)
    if state is not None:
        query = query.where(Delivery.state == state)
    if subscription_id is not None:
        query = query.where(Delivery.subscription_id == subscription_id)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    if kind is not None:
        query = query.where(Delivery.kind == kind)
    query = NEWEST_FIRST.apply(query, page)
    return list((await session.execute(query)).scalars())


async def find(session: AsyncSession, institution_id: InstitutionId, subscription_id: str,
               event_id: str) -> Delivery | None:
    query = select(Delivery).where(Delivery.institution_id == institution_id,
                                   Delivery.subscription_id == subscription_id, Delivery.event_id == event_id)
    return (await session.execute(query)).scalar_one_or_none()


async def hold_open_digest(session: AsyncSession, institution_id: InstitutionId, delivery_id: str,
                           now: datetime) -> bool:
    """Whether a digest still takes events. The update keeps its row locked until the caller commits
    (PostgreSQL), so the worker's ``seal`` waits for the event being added; on SQLite writers take
    turns anyway."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.institution_id == institution_id, Delivery.id == delivery_id,
               Delivery.state == DeliveryState.PENDING, Delivery.sealed_at.is_(None))  # type: ignore[union-attr]
        .values(updated_at=now))
    return result.rowcount == 1


async def seal(session: AsyncSession, institution_id: InstitutionId, delivery_id: str, now: datetime) -> None:
    """A digest takes no more events: what its first attempt sends is what every retry sends."""
    await session.execute(
        update(Delivery)
        .where(Delivery.institution_id == institution_id, Delivery.id == delivery_id,
               Delivery.sealed_at.is_(None))  # type: ignore[union-attr]
        .values(sealed_at=now))


async def attempts(session: AsyncSession, institution_id: InstitutionId, delivery_id: str) -> list[DeliveryAttempt]:
    query = (select(DeliveryAttempt)
             .where(DeliveryAttempt.institution_id == institution_id, DeliveryAttempt.delivery_id == delivery_id)
             .order_by(DeliveryAttempt.number))
    return list((await session.execute(query)).scalars())


async def add_attempt(session: AsyncSession, attempt: DeliveryAttempt) -> None:
    session.add(attempt)
    await session.flush()


async def cancel_pending_for_subscription(session: AsyncSession, institution_id: InstitutionId,
                                          subscription_id: str, now: datetime) -> int:
    result = await session.execute(
        update(Delivery)
        .where(Delivery.institution_id == institution_id, Delivery.subscription_id == subscription_id,
               Delivery.state == DeliveryState.PENDING)
        .values(state=DeliveryState.CANCELLED, next_attempt_at=None, updated_at=now,
                last_error="the subscription was deleted"))
    return result.rowcount


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    institution_id: InstitutionId


async def claim_due(session: AsyncSession, *, now: datetime, lease_until: datetime, token: str, limit: int,
                    skip_locked: bool) -> list[Claimed]:
    """Leases up to ``limit`` due deliveries to this worker. The conditional update makes the claim
    safe between replicas on any database; on PostgreSQL SKIP LOCKED also keeps replicas from queueing
    behind each other's rows."""
    free = or_(Delivery.locked_until.is_(None), Delivery.locked_until < now)  # type: ignore[union-attr]
    query = (select(Delivery.id, Delivery.institution_id)
             .where(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now, free)
             .order_by(Delivery.next_attempt_at)
             .limit(limit))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    candidates = (await session.execute(query)).all()
    claimed: list[Claimed] = []
    for delivery_id, institution_id in candidates:
        result = await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.PENDING, free)
            .values(locked_until=lease_until, locked_by=token))
        if result.rowcount == 1:
            claimed.append(Claimed(delivery_id, institution_id_for_system(institution_id)))
    return claimed


async def next_due_at(session: AsyncSession, *, after: datetime) -> datetime | None:
    """When the next pending delivery falls due (for the worker's sleep)."""
    query = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at > after)
    value = (await session.execute(query)).scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


async def record_outcome(session: AsyncSession, institution_id: InstitutionId, attempt_id: str, *,
                         status_code: int | None, error: str | None, duration_ms: int) -> None:
    await session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.institution_id == institution_id, DeliveryAttempt.id == attempt_id)
        .values(status_code=status_code, error=error, duration_ms=duration_ms, finished=True))


async def renew_leases(session: AsyncSession, *, token: str, delivery_ids: list[str], lease_until: datetime) -> int:
    """Extends the leases this worker still holds (a slow receiver must not let another replica start
    the same delivery). Across institutions: the worker's own leases, found by its token."""
    result = await session.execute(
        update(Delivery).where(Delivery.locked_by == token, Delivery.id.in_(delivery_ids))  # type: ignore[attr-defined]
        .values(locked_until=lease_until))
    return int(result.rowcount or 0)


async def release_leases(session: AsyncSession, *, token: str) -> int:
    """Gives back every lease this worker holds (on shutdown), so another replica may start at once."""
    result = await session.execute(
        update(Delivery).where(Delivery.locked_by == token).values(locked_until=None, locked_by=None))
    return int(result.rowcount or 0)


async def finish_attempt(session: AsyncSession, institution_id: InstitutionId, delivery_id: str, *, token: str,
                         values: dict[str, object]) -> bool:
    """Applies the attempt's outcome if this worker still holds the lease; releases the lease."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.institution_id == institution_id, Delivery.id == delivery_id, Delivery.locked_by == token)
        .values(**values, locked_until=None, locked_by=None))
    return result.rowcount == 1
