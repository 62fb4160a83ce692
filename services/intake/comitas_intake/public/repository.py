"""Every query of the public channel. Each takes the institution, but one: :func:`receipt_by_lookup`."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from .models import PublicMessage, PublicReceipt

OLDEST_FIRST = PageKey(at=PublicMessage.created_at, id=PublicMessage.id, ascending=True)


async def add(session: AsyncSession, row: PublicReceipt | PublicMessage) -> None:
    session.add(row)
    await session.flush()


async def receipt_by_lookup(session: AsyncSession, lookup: str) -> PublicReceipt | None:
    """The receipt a code's keyed digest names, whatever the institution: a person with a code has no
    institution to say, and the code (verified against its slow hash next) is what tells it."""
    return (await session.execute(select(PublicReceipt).where(PublicReceipt.lookup == lookup))).scalar_one_or_none()


async def messages_page(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                        page: PageRequest) -> list[PublicMessage]:
    query = select(PublicMessage).where(PublicMessage.institution_id == institution_id,
                                        PublicMessage.complaint_id == complaint_id)
    return list((await session.execute(OLDEST_FIRST.apply(query, page))).scalars())


async def count_messages(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> int:
    query = select(func.count()).select_from(PublicMessage).where(
        PublicMessage.institution_id == institution_id, PublicMessage.complaint_id == complaint_id)
    return int((await session.execute(query)).scalar_one())
