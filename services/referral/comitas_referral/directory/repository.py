"""Queries on the directory read model. The directory is public to every holder of ``directory:read``
(identity's own rule): its entries belong to no viewer, so these functions take none (CONTRIBUTING.md,
"identity's directory": the read model is a copy of that public directory)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import DirectoryEntry


async def get(session: AsyncSession, institution_id: str) -> DirectoryEntry | None:
    return await session.get(DirectoryEntry, institution_id)


async def accepting_referrals(session: AsyncSession) -> list[DirectoryEntry]:
    """Every active institution that takes referred cases at all (candidates are ranked among them)."""
    query = (select(DirectoryEntry).where(DirectoryEntry.accepts_referrals.is_(True),  # type: ignore[attr-defined]
                                          DirectoryEntry.active.is_(True))  # type: ignore[attr-defined]
             .order_by(DirectoryEntry.institution_id))
    return list((await session.execute(query)).scalars())
