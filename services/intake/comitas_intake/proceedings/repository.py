"""Every query on proceedings; each takes the caller's institution."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId

from .models import ProceedingLimit, ProceedingStep


async def add(session: AsyncSession, row: ProceedingStep | ProceedingLimit) -> None:
    session.add(row)
    await session.flush()


async def steps(session: AsyncSession, institution_id: InstitutionId, filing_id: str) -> list[ProceedingStep]:
    query = (select(ProceedingStep)
             .where(ProceedingStep.institution_id == institution_id, ProceedingStep.filing_id == filing_id)
             .order_by(ProceedingStep.created_at, ProceedingStep.id))  # type: ignore[arg-type]
    return list((await session.execute(query)).scalars())


async def limits(session: AsyncSession, institution_id: InstitutionId, filing_id: str) -> list[ProceedingLimit]:
    query = (select(ProceedingLimit)
             .where(ProceedingLimit.institution_id == institution_id, ProceedingLimit.filing_id == filing_id)
             .order_by(ProceedingLimit.created_at, ProceedingLimit.id))  # type: ignore[arg-type]
    return list((await session.execute(query)).scalars())
