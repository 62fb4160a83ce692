"""Every query on subscriptions; each takes the caller's institution."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from .models import Subscription

NEWEST_FIRST = PageKey(at=Subscription.created_at, id=Subscription.id)


async def add(session: AsyncSession, subscription: Subscription) -> None:
    session.add(subscription)
    await session.flush()


async def get(session: AsyncSession, institution_id: InstitutionId, subscription_id: str,
              *, include_deleted: bool = False) -> Subscription | None:
    query = select(Subscription).where(Subscription.institution_id == institution_id,
                                       Subscription.id == subscription_id)
    if not include_deleted:
        query = query.where(Subscription.deleted_at.is_(None))  # type: ignore[union-attr]
    return (await session.execute(query)).scalar_one_or_none()


async def list_page(session: AsyncSession, institution_id: InstitutionId, page: PageRequest) -> list[Subscription]:
    query = select(Subscription).where(Subscription.institution_id == institution_id,
                                       Subscription.deleted_at.is_(None))  # type: ignore[union-attr]
    query = NEWEST_FIRST.apply(query, page)
    return list((await session.execute(query)).scalars())


async def active(session: AsyncSession, institution_id: InstitutionId) -> list[Subscription]:
    query = select(Subscription).where(Subscription.institution_id == institution_id,
                                       Subscription.deleted_at.is_(None))  # type: ignore[union-attr]
    return list((await session.execute(query)).scalars())


async def active_of_each(session: AsyncSession, institution_ids: Iterable[str]) -> list[Subscription]:
    """The live subscriptions of every institution named, in one query (the fan-out's batch of events)."""
    wanted = sorted(set(institution_ids))
    if not wanted:
        return []
    query = select(Subscription).where(Subscription.institution_id.in_(wanted),  # type: ignore[attr-defined]
                                       Subscription.deleted_at.is_(None))  # type: ignore[union-attr]
    return list((await session.execute(query)).scalars())


async def mark_deleted(session: AsyncSession, institution_id: InstitutionId, subscription_id: str,
                       now: datetime) -> bool:
    result = await session.execute(
        update(Subscription)
        .where(Subscription.institution_id == institution_id, Subscription.id == subscription_id,
               Subscription.deleted_at.is_(None))  # type: ignore[union-attr]
        .values(deleted_at=now))
    return result.rowcount == 1
