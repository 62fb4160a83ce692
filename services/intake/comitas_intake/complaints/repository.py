"""Every query on complaints and their referrals and filings; each takes the caller's institution,
except :func:`legacy_unsealed`, the one-off pass that seals summaries written before sealing existed,
for every institution (it says so)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from ..models import insert_row
from .models import Complaint, ComplaintTrack

NEWEST_FIRST = PageKey(at=Complaint.created_at, id=Complaint.id)
TRACKS_OLDEST_FIRST = (ComplaintTrack.created_at, ComplaintTrack.id)


async def add(session: AsyncSession, row: Complaint | ComplaintTrack) -> None:
    session.add(row)
    await session.flush()


async def insert(session: AsyncSession, complaint: Complaint) -> None:
    """A new complaint in one INSERT (the submission's path; ``complaint`` stays outside the session)."""
    await insert_row(session, complaint)


async def get(session: AsyncSession, institution_id: InstitutionId, complaint_id: str, *,
              lock: bool = False) -> Complaint | None:
    """``lock``: hold the row until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite has one
    writer), so two transfers of one complaint cannot both see it open."""
    query = select(Complaint).where(Complaint.id == complaint_id, Complaint.institution_id == institution_id)
    result = await session.execute(query.with_for_update() if lock else query)
    return result.scalar_one_or_none()


async def page(session: AsyncSession, institution_id: InstitutionId, request: PageRequest) -> list[Complaint]:
    query = NEWEST_FIRST.apply(select(Complaint).where(Complaint.institution_id == institution_id), request)
    return list((await session.execute(query)).scalars())


async def tracks(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                 kind: str) -> list[ComplaintTrack]:
    query = (select(ComplaintTrack)
             .where(ComplaintTrack.institution_id == institution_id, ComplaintTrack.complaint_id == complaint_id,
                    ComplaintTrack.kind == kind)
             .order_by(*TRACKS_OLDEST_FIRST))
    return list((await session.execute(query)).scalars())


async def get_track(session: AsyncSession, institution_id: InstitutionId, complaint_id: str, kind: str,
                    track_id: str) -> ComplaintTrack | None:
    query = select(ComplaintTrack).where(
        ComplaintTrack.institution_id == institution_id, ComplaintTrack.complaint_id == complaint_id,
        ComplaintTrack.kind == kind, ComplaintTrack.id == track_id)
    return (await session.execute(query)).scalar_one_or_none()


async def legacy_unsealed(session: AsyncSession, *, limit: int) -> Sequence[Complaint]:
    """Across institutions: complaints whose summary is still in clear (written before sealing existed)."""
    query = (select(Complaint).where(Complaint.legacy_summary.is_not(None))  # type: ignore[union-attr]
             .order_by(Complaint.created_at, Complaint.id).limit(limit))
    return list((await session.execute(query)).scalars())
