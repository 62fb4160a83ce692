"""Every query on complaints; each takes the caller's institution."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageRequest

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
    query = select(Complaint).where(Complaint.institution_id == institution_id)
    if request.after is not None:
        created_at, id_ = request.after
        query = query.where(or_(Complaint.created_at < created_at,
                                and_(Complaint.created_at == created_at, Complaint.id < id_)))
    query = query.order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(request.limit + 1)
    return list((await session.execute(query)).scalars())
