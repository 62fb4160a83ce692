"""Every query on institutions.

The directory is the one deliberately cross-institution read in the platform: any holder of
``directory:read`` sees every institution's public entry, so these functions take no caller.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.pagination import PageRequest

from ..models import Institution


async def get(session: AsyncSession, institution_id: str) -> Institution | None:
    return await session.get(Institution, institution_id)


async def add(session: AsyncSession, institution: Institution) -> None:
    session.add(institution)
    await session.flush()


async def page(session: AsyncSession, request: PageRequest, *, kind: str | None = None,
               country: str | None = None, active: bool | None = None) -> list[Institution]:
    """Up to ``request.limit + 1`` institutions in registration order (the extra row says there is more)."""
    query = select(Institution).order_by(Institution.created_at, Institution.id).limit(request.limit + 1)
    if request.after is not None:
        created_at, last_id = request.after
        query = query.where(or_(Institution.created_at > created_at,
                                and_(Institution.created_at == created_at, Institution.id > last_id)))
    if kind is not None:
        query = query.where(Institution.kind == kind)
    if country is not None:
        query = query.where(Institution.country == country.upper())
    if active is not None:
        query = query.where(Institution.active == active)
    return list((await session.execute(query)).scalars().all())
