"""Every query on filings; each takes the caller's institution."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from .models import Filing

NEWEST_FIRST = PageKey(at=Filing.created_at, id=Filing.id)


async def add(session: AsyncSession, row: Filing) -> None:
    session.add(row)
    await session.flush()


async def get(session: AsyncSession, institution_id: InstitutionId, filing_id: str) -> Filing | None:
    query = select(Filing).where(Filing.institution_id == institution_id, Filing.id == filing_id)
    return (await session.execute(query)).scalar_one_or_none()


async def page_of(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                  page: PageRequest) -> list[Filing]:
    query = select(Filing).where(Filing.institution_id == institution_id, Filing.complaint_id == complaint_id)
    return list((await session.execute(NEWEST_FIRST.apply(query, page))).scalars())
