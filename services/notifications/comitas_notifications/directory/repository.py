"""Every query on the directory read model; functions for one entry take its institution. The contact
reader's list of entries to read is across institutions (see ``stale``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId

from .models import DirectoryEntry


async def get(session: AsyncSession, institution_id: InstitutionId) -> DirectoryEntry | None:
    query = select(DirectoryEntry).where(DirectoryEntry.institution_id == institution_id)
    return (await session.execute(query)).scalar_one_or_none()


async def add(session: AsyncSession, entry: DirectoryEntry) -> None:
    session.add(entry)
    await session.flush()


async def count(session: AsyncSession) -> int:
    """How many institutions the read model holds (zero: bootstrap it from identity)."""
    return int((await session.execute(select(func.count()).select_from(DirectoryEntry))).scalar_one())


async def stale(session: AsyncSession, *, limit: int) -> list[tuple[str, int]]:
    """(institution, generation) of entries whose contact must be read. Across institutions: the
    contact reader works for every institution, then stores each contact under its own id."""
    behind = or_(DirectoryEntry.contact_read_generation.is_(None),  # type: ignore[union-attr]
                 DirectoryEntry.contact_read_generation < DirectoryEntry.contact_generation)
    query = (select(DirectoryEntry.institution_id, DirectoryEntry.contact_generation).where(behind)
             .order_by(DirectoryEntry.updated_at).limit(limit))
    return [(row[0], int(row[1])) for row in (await session.execute(query)).all()]


async def store_contact(session: AsyncSession, institution_id: InstitutionId, *, generation: int,
                        emails: list[str], language: str | None, now: datetime) -> bool:
    """Stores a contact read for ``generation``; nothing if a newer change came in meanwhile."""
    result = await session.execute(
        update(DirectoryEntry)
        .where(DirectoryEntry.institution_id == institution_id, DirectoryEntry.contact_generation == generation)
        .values(contact_emails=emails, contact_language=language, contact_read_generation=generation,
                contact_read_at=now, contact_error=None))
    return result.rowcount == 1


async def store_contact_error(session: AsyncSession, institution_id: InstitutionId, *, error: str) -> None:
    await session.execute(update(DirectoryEntry).where(DirectoryEntry.institution_id == institution_id)
                          .values(contact_error=error))
