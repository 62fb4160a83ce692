"""Every query on complaints; each takes the caller's institution."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageRequest, paginate

from .models import Complaint


async def add(session: AsyncSession, complaint: Complaint) -> None:
    session.add(complaint)
    await session.flush()


async def get(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> Complaint | None:
    result = await session.execute(
        select(Complaint).where(Complaint.id == complaint_id, Complaint.institution_id == institution_id)
    )
    return result.scalar_one_or_none()


async def page(session: AsyncSession, institution_id: InstitutionId, request: PageRequest) -> list[Complaint]:
    query = paginate(select(Complaint).where(Complaint.institution_id == institution_id), request,
                     at=Complaint.created_at, id_=Complaint.id)
    return list((await session.execute(query)).scalars())
