"""Every query on results. A result is found through its request-level row, as the viewer sees it
(``viewed_by``); the evidence and custody rows are then read by that result's own item id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.evidence import CustodyEntry
from comitas_shared.pagination import PageKey, PageRequest
from comitas_shared.visibility import viewed_by

from .models import RequestResult, evidence_custody, evidence_item

NEWEST_FIRST = PageKey(at=RequestResult.created_at, id=RequestResult.id)
OWNER_KIND = "mla_request"


async def add_result(session: AsyncSession, row: RequestResult) -> None:
    session.add(row)
    await session.flush()


async def add_item(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(evidence_item).values(owner_kind=OWNER_KIND, **values))


async def result(session: AsyncSession, viewer: InstitutionId, request_id: str, result_id: str) -> RequestResult | None:
    query = select(RequestResult).where(RequestResult.request_id == request_id, RequestResult.id == result_id)
    return (await session.execute(viewed_by(query, viewer))).scalar_one_or_none()


async def results_page(session: AsyncSession, viewer: InstitutionId, request_id: str,
                       page: PageRequest) -> list[RequestResult]:
    query = NEWEST_FIRST.apply(select(RequestResult).where(RequestResult.request_id == request_id), page)
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def item(session: AsyncSession, found: RequestResult) -> RowMapping:
    """The evidence row of a result the viewer already found."""
    query = select(evidence_item).where(evidence_item.c.id == found.evidence_item_id,
                                        evidence_item.c.owner_kind == OWNER_KIND,
                                        evidence_item.c.owner_id == found.request_id)
    return (await session.execute(query)).mappings().one()


async def items(session: AsyncSession, request_id: str, item_ids: Sequence[str]) -> dict[str, RowMapping]:
    """The evidence rows of results of ``request_id`` the viewer already found (one page), by item id."""
    if not item_ids:
        return {}
    query = select(evidence_item).where(evidence_item.c.id.in_(list(item_ids)),
                                        evidence_item.c.owner_kind == OWNER_KIND,
                                        evidence_item.c.owner_id == request_id)
    return {row["id"]: row for row in (await session.execute(query)).mappings()}


async def custody(session: AsyncSession, found: RequestResult) -> list[CustodyEntry]:
    query = (select(evidence_custody).where(evidence_custody.c.item_id == found.evidence_item_id)
             .order_by(evidence_custody.c.seq))
    return [CustodyEntry.from_row(row) for row in (await session.execute(query)).mappings()]


async def custodies(session: AsyncSession, item_ids: Sequence[str]) -> dict[str, list[CustodyEntry]]:
    """The custody chains of items of results the viewer already found (one page), each in order."""
    if not item_ids:
        return {}
    query = (select(evidence_custody).where(evidence_custody.c.item_id.in_(list(item_ids)))
             .order_by(evidence_custody.c.item_id, evidence_custody.c.seq))
    found: dict[str, list[CustodyEntry]] = {}
    for row in (await session.execute(query)).mappings():
        found.setdefault(row["item_id"], []).append(CustodyEntry.from_row(row))
    return found


async def latest_custody(session: AsyncSession, item_id: str) -> CustodyEntry | None:
    """The head of an item's chain; ``item_id`` comes from a result the viewer found (or just made)."""
    query = (select(evidence_custody).where(evidence_custody.c.item_id == item_id)
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
