"""Every query on the blind index and the match notices. Each takes the institution, except
:func:`entries_with_digests`, which says why it cannot."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from .models import DuplicateIndexEntry, DuplicateNotice

NEWEST_FIRST = PageKey(at=DuplicateNotice.detected_at, id=DuplicateNotice.id)


async def entries_of(session: AsyncSession, institution_id: InstitutionId,
                     complaint_id: str) -> list[DuplicateIndexEntry]:
    query = select(DuplicateIndexEntry).where(DuplicateIndexEntry.institution_id == institution_id,
                                              DuplicateIndexEntry.complaint_id == complaint_id)
    return list((await session.execute(query)).scalars())


async def serialise(session: AsyncSession) -> None:
    """Indexing one complaint reads and rewrites the notices of every complaint sharing a digest with
    it, in whichever institution: two such transactions running side by side would each miss the
    other's entries. On PostgreSQL a transaction-scoped advisory lock makes them take turns (index
    changes are rare: a submission, a correction, an erasure); on SQLite the single writer does, since
    :func:`remove_entries` writes before anything here is read."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended("comitas.duplicates", 0))))


async def remove_entries(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> list[str]:
    """Deletes the complaint's entries; returns their digests."""
    result = await session.execute(delete(DuplicateIndexEntry).where(
        DuplicateIndexEntry.institution_id == institution_id,  # type: ignore[arg-type]
        DuplicateIndexEntry.complaint_id == complaint_id,  # type: ignore[arg-type]
    ).returning(DuplicateIndexEntry.digest))  # type: ignore[arg-type]
    return [row[0] for row in result]


async def add_all(session: AsyncSession, rows: Iterable[DuplicateIndexEntry | DuplicateNotice]) -> None:
    session.add_all(list(rows))
    await session.flush()


async def entries_with_digests(session: AsyncSession, digests: Collection[str]) -> list[DuplicateIndexEntry]:
    """Across institutions, by design: finding a possible duplicate held elsewhere is the point of the
    index. Only the platform calls this, with digests it computed itself from a complaint's own data
    (no endpoint takes a name or a digest); what a caller is then told is decided by
    ``domain.notices_of``."""
    if not digests:
        return []
    query = select(DuplicateIndexEntry).where(DuplicateIndexEntry.digest.in_(sorted(digests)))  # type: ignore[attr-defined]
    return list((await session.execute(query)).scalars())


async def holds_any(session: AsyncSession, institution_id: InstitutionId, digests: Collection[str]) -> bool:
    if not digests:
        return False
    query = (select(DuplicateIndexEntry.id)
             .where(DuplicateIndexEntry.institution_id == institution_id,
                    DuplicateIndexEntry.digest.in_(sorted(digests)))  # type: ignore[attr-defined]
             .limit(1))
    return (await session.execute(query)).first() is not None


async def notices_of(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> list[DuplicateNotice]:
    query = (select(DuplicateNotice)
             .where(DuplicateNotice.institution_id == institution_id, DuplicateNotice.complaint_id == complaint_id)
             .order_by(DuplicateNotice.detected_at.desc(), DuplicateNotice.id.desc()))  # type: ignore[attr-defined]
    return list((await session.execute(query)).scalars())


async def delete_notices(session: AsyncSession, institution_id: InstitutionId, ids: Collection[str]) -> None:
    if not ids:
        return
    await session.execute(delete(DuplicateNotice).where(
        DuplicateNotice.institution_id == institution_id,  # type: ignore[arg-type]
        DuplicateNotice.id.in_(sorted(ids))))  # type: ignore[attr-defined]


async def notices_page(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                       page: PageRequest) -> list[DuplicateNotice]:
    query = select(DuplicateNotice).where(DuplicateNotice.institution_id == institution_id,
                                          DuplicateNotice.complaint_id == complaint_id)
    return list((await session.execute(NEWEST_FIRST.apply(query, page))).scalars())
