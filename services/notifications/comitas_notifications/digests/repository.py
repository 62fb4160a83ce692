"""Every query on digest items; each takes the caller's institution."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId

from .models import DigestItem


async def add(session: AsyncSession, item: DigestItem) -> None:
    session.add(item)
    await session.flush()


async def holds(session: AsyncSession, institution_id: InstitutionId, delivery_id: str, event_id: str) -> bool:
    query = select(func.count()).select_from(DigestItem).where(
        DigestItem.institution_id == institution_id, DigestItem.delivery_id == delivery_id,
        DigestItem.event_id == event_id)
    return int((await session.execute(query)).scalar_one()) > 0


async def items(session: AsyncSession, institution_id: InstitutionId, delivery_id: str) -> list[DigestItem]:
    query = (select(DigestItem)
             .where(DigestItem.institution_id == institution_id, DigestItem.delivery_id == delivery_id)
             .order_by(DigestItem.added_at, DigestItem.id))
    return list((await session.execute(query)).scalars())
