"""Every query on evidence items and custody entries; each takes the caller's institution."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.evidence import CustodyEntry
from comitas_shared.pagination import PageKey, PageRequest

from .models import evidence_custody, evidence_item

NEWEST_FIRST = PageKey(at=evidence_item.c.created_at, id=evidence_item.c.id)
OWNER_KIND = "complaint"


async def add_item(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(evidence_item).values(owner_kind=OWNER_KIND, **values))


async def item(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
               item_id: str) -> RowMapping | None:
    query = select(evidence_item).where(
        evidence_item.c.institution_id == institution_id, evidence_item.c.owner_kind == OWNER_KIND,
        evidence_item.c.owner_id == complaint_id, evidence_item.c.id == item_id)
    return (await session.execute(query)).mappings().one_or_none()


async def items_page(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                     page: PageRequest) -> list[RowMapping]:
    query = select(evidence_item).where(
        evidence_item.c.institution_id == institution_id, evidence_item.c.owner_kind == OWNER_KIND,
        evidence_item.c.owner_id == complaint_id)
    return list((await session.execute(NEWEST_FIRST.apply(query, page))).mappings())


async def count_items(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> int:
    """How many items a complaint has, originals and copies."""
    query = select(func.count()).select_from(evidence_item).where(
        evidence_item.c.institution_id == institution_id, evidence_item.c.owner_kind == OWNER_KIND,
        evidence_item.c.owner_id == complaint_id)
    return int((await session.execute(query)).scalar_one())


async def originals(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> list[RowMapping]:
    """The files as received (not the stripped copies made of them), oldest first."""
    query = (select(evidence_item)
             .where(evidence_item.c.institution_id == institution_id, evidence_item.c.owner_kind == OWNER_KIND,
                    evidence_item.c.owner_id == complaint_id, evidence_item.c.derived_from.is_(None))
             .order_by(evidence_item.c.created_at, evidence_item.c.id))
    return list((await session.execute(query)).mappings())


async def custody(session: AsyncSession, institution_id: InstitutionId, item_id: str) -> list[CustodyEntry]:
    query = (select(evidence_custody)
             .where(evidence_custody.c.institution_id == institution_id, evidence_custody.c.item_id == item_id)
             .order_by(evidence_custody.c.seq))
    return [CustodyEntry.from_row(row) for row in (await session.execute(query)).mappings()]


async def latest_custody(session: AsyncSession, institution_id: InstitutionId, item_id: str) -> CustodyEntry | None:
    query = (select(evidence_custody)
             .where(evidence_custody.c.institution_id == institution_id, evidence_custody.c.item_id == item_id)
             .order_by(evidence_custody.c.seq.desc()).limit(1))
    row = (await session.execute(query)).mappings().one_or_none()
    return CustodyEntry.from_row(row) if row is not None else None


async def try_add_custody(session: AsyncSession, entry: CustodyEntry) -> bool:
    """Appends ``entry``; False when another writer took its sequence number first (the caller builds
    the entry again on the new head). A savepoint keeps the request's transaction usable."""
    try:
        async with session.begin_nested():
            await session.execute(insert(evidence_custody).values(**entry.as_row()))
    except IntegrityError:
        return False
    return True


async def copies_of(session: AsyncSession, institution_id: InstitutionId, item_id: str) -> list[RowMapping]:
    """The stripped copies made of an item, oldest first."""
    query = (select(evidence_item)
             .where(evidence_item.c.institution_id == institution_id, evidence_item.c.derived_from == item_id)
             .order_by(evidence_item.c.created_at, evidence_item.c.id))
    return list((await session.execute(query)).mappings())


async def all_items(session: AsyncSession, institution_id: InstitutionId, complaint_id: str) -> list[RowMapping]:
    """Every item of a complaint, originals and copies."""
    query = select(evidence_item).where(
        evidence_item.c.institution_id == institution_id, evidence_item.c.owner_kind == OWNER_KIND,
        evidence_item.c.owner_id == complaint_id)
    return list((await session.execute(query)).mappings())
