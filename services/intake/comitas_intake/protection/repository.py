"""Every query on the key store and the audit log; each takes the institution, except the two passes
that work for every institution (key re-wrapping after a master-key rotation, and checkpointing),
which say so."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from ..models import insert_row
from .models import AuditCheckpoint, AuditEntry, AuditHead, ComplaintKey

NEWEST_FIRST = PageKey(at=AuditEntry.at, id=AuditEntry.id)


async def add_key(session: AsyncSession, row: ComplaintKey) -> None:
    await insert_row(session, row)


async def get_key(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> ComplaintKey | None:
    query = select(ComplaintKey).where(ComplaintKey.institution_id == institution_id,
                                       ComplaintKey.complaint_id == complaint_id)
    return (await session.execute(query)).scalar_one_or_none()


async def keys_to_rewrap(session: AsyncSession, *, current_key_id: str, limit: int) -> Sequence[ComplaintKey]:
    """Across institutions: live keys still wrapped by an earlier master key (rotation)."""
    query = (select(ComplaintKey)
             .where(ComplaintKey.wrapped_key.is_not(None),  # type: ignore[union-attr]
                    ComplaintKey.master_key_id != current_key_id)
             .limit(limit))
    return list((await session.execute(query)).scalars())


async def head_for_append(session: AsyncSession, institution_id: InstitutionId, *, lock: bool) -> AuditHead | None:
    query = select(AuditHead).where(AuditHead.institution_id == institution_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def add(session: AsyncSession, row: AuditEntry | AuditHead | AuditCheckpoint) -> None:
    session.add(row)
    await session.flush()


async def entries_page(session: AsyncSession, institution_id: InstitutionId, page: PageRequest) -> list[AuditEntry]:
    query = NEWEST_FIRST.apply(select(AuditEntry).where(AuditEntry.institution_id == institution_id), page)
    return list((await session.execute(query)).scalars())


async def chain(session: AsyncSession, institution_id: InstitutionId) -> list[AuditEntry]:
    """The whole chain in the order it was written (by sequence number, then row id: a reordered or
    duplicated sequence number shows as a break)."""
    query = (select(AuditEntry).where(AuditEntry.institution_id == institution_id)
             .order_by(AuditEntry.seq, AuditEntry.id))
    return list((await session.execute(query)).scalars())


async def heads(session: AsyncSession) -> list[AuditHead]:
    """Across institutions: every chain's head, for the checkpoint pass."""
    return list((await session.execute(select(AuditHead))).scalars())


async def latest_checkpoint(session: AsyncSession, institution_id: InstitutionId) -> AuditCheckpoint | None:
    query = (select(AuditCheckpoint).where(AuditCheckpoint.institution_id == institution_id)
             .order_by(AuditCheckpoint.seq.desc()).limit(1))  # type: ignore[attr-defined]
    return (await session.execute(query)).scalar_one_or_none()
