"""Every query on assessments; each takes the caller's institution."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId

from .models import Assessment


async def add(session: AsyncSession, assessment: Assessment) -> None:
    session.add(assessment)
    await session.flush()


async def latest(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> Assessment | None:
    result = await session.execute(
        select(Assessment)
        .where(Assessment.institution_id == institution_id, Assessment.complaint_id == complaint_id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def get(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
              assessment_id: str) -> Assessment | None:
    result = await session.execute(select(Assessment).where(
        Assessment.institution_id == institution_id, Assessment.complaint_id == complaint_id,
        Assessment.id == assessment_id))
    return result.scalar_one_or_none()


async def for_complaint(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                        limit: int = 100) -> list[Assessment]:
    result = await session.execute(
        select(Assessment)
        .where(Assessment.institution_id == institution_id, Assessment.complaint_id == complaint_id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(limit)
    )
    return list(result.scalars())
