"""Every query on consent records and disclosures. Each takes the caller's institution; the one that
reads across institutions (a recipient reading a grant) says so and takes the caller as recipient."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from .models import ConsentRecord, Disclosure

IN_RECORDED_ORDER = PageKey(at=ConsentRecord.recorded_at, id=ConsentRecord.id, ascending=True)
DISCLOSURES_NEWEST_FIRST = PageKey(at=Disclosure.created_at, id=Disclosure.grant_id)


async def add(session: AsyncSession, row: ConsentRecord | Disclosure) -> None:
    session.add(row)
    await session.flush()


async def records(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> list[ConsentRecord]:
    """Every consent record of a complaint, in the order they were written."""
    query = (select(ConsentRecord)
             .where(ConsentRecord.institution_id == institution_id, ConsentRecord.complaint_id == complaint_id)
             .order_by(ConsentRecord.recorded_at, ConsentRecord.id))  # type: ignore[arg-type]
    return list((await session.execute(query)).scalars())


async def records_page(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                       page: PageRequest) -> list[ConsentRecord]:
    query = select(ConsentRecord).where(ConsentRecord.institution_id == institution_id,
                                        ConsentRecord.complaint_id == complaint_id)
    return list((await session.execute(IN_RECORDED_ORDER.apply(query, page))).scalars())


async def record(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                 consent_id: str) -> ConsentRecord | None:
    query = select(ConsentRecord).where(ConsentRecord.institution_id == institution_id,
                                        ConsentRecord.complaint_id == complaint_id, ConsentRecord.id == consent_id)
    return (await session.execute(query)).scalar_one_or_none()


async def disclosures_in_force(session: AsyncSession, institution_id: InstitutionId,
                               complaint_id: str) -> list[Disclosure]:
    query = (select(Disclosure)
             .where(Disclosure.institution_id == institution_id, Disclosure.complaint_id == complaint_id,
                    Disclosure.revoked_at.is_(None))  # type: ignore[union-attr]
             .order_by(Disclosure.created_at, Disclosure.grant_id))  # type: ignore[arg-type]
    return list((await session.execute(query)).scalars())


async def disclosures_page(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                           page: PageRequest) -> list[Disclosure]:
    query = select(Disclosure).where(Disclosure.institution_id == institution_id,
                                     Disclosure.complaint_id == complaint_id)
    return list((await session.execute(DISCLOSURES_NEWEST_FIRST.apply(query, page))).scalars())


async def disclosure_of_sender(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                               grant_id: str) -> Disclosure | None:
    query = select(Disclosure).where(Disclosure.institution_id == institution_id,
                                     Disclosure.complaint_id == complaint_id, Disclosure.grant_id == grant_id)
    return (await session.execute(query)).scalar_one_or_none()


async def disclosure_for_recipient(session: AsyncSession, recipient: InstitutionId,
                                   grant_id: str) -> Disclosure | None:
    """Across institutions, on purpose: the disclosure ``grant_id`` as its RECIPIENT reads it. The row
    belongs to the sending institution; the caller's institution is matched against the recipient the
    row names, so a grant id in anyone else's hands (a third institution, or the sender itself) is
    simply not found."""
    query = select(Disclosure).where(Disclosure.grant_id == grant_id,
                                     Disclosure.recipient_institution_id == recipient)
    return (await session.execute(query)).scalar_one_or_none()
