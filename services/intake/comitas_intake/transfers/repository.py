"""Every query on transfers; each takes the caller's institution (the recipient that holds the record)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId

from .models import Transfer


async def add(session: AsyncSession, row: Transfer) -> None:
    session.add(row)
    await session.flush()


async def by_grant(session: AsyncSession, institution_id: InstitutionId, grant_id: str) -> Transfer | None:
    """The caller's transfer made with ``grant_id``, if any (a grant moves a case once)."""
    query = select(Transfer).where(Transfer.institution_id == institution_id, Transfer.grant_id == grant_id)
    return (await session.execute(query)).scalar_one_or_none()
