"""Every query on the inbox; each takes the institution."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.db import rows_affected, unindexed
from comitas_shared.pagination import PageKey, PageRequest

from .models import InboxItem

NEWEST_FIRST = PageKey(at=InboxItem.created_at, id=InboxItem.id)
CHUNK = 500


async def insert_many(session: AsyncSession, items: Sequence[dict[str, Any]]) -> None:
    """New items, as column values, in one statement per few hundred (no ORM objects: at a thousand
    reminders a second, building table models costs more than storing them)."""
    table = InboxItem.__table__  # type: ignore[attr-defined]
    for start in range(0, len(items), CHUNK):
        await session.execute(table.insert(), list(items[start:start + CHUNK]))


async def reminder_keys(session: AsyncSession,
                        deadlines: Sequence[tuple[InstitutionId, str]]) -> set[tuple[str, str, datetime]]:
    """(deadline, reminder, due time) of the reminders already in the inbox for the deadlines named
    (institution, deadline id): one query per few hundred, whatever the institutions."""
    named = sorted(set(deadlines))
    found: set[tuple[str, str, datetime]] = set()
    for start in range(0, len(named), CHUNK):
        chunk = named[start:start + CHUNK]
        # Two plain IN lists and the pairs checked here (SQLite scans the whole table for a row-value IN);
        # the institutions' list unindexed, so the plan looks up each id (see ``unindexed``).
        query = select(InboxItem.institution_id, InboxItem.deadline_id, InboxItem.reminder, InboxItem.due_at).where(
            InboxItem.deadline_id.in_([d for _, d in chunk]), unindexed(InboxItem.institution_id).in_({i for i, _ in chunk}))
        pairs = set(chunk)
        found.update((d, r, at) for i, d, r, at in (await session.execute(query)).all() if (i, d) in pairs)
    return found


async def get(session: AsyncSession, institution_id: InstitutionId, item_id: str) -> InboxItem | None:
    query = select(InboxItem).where(InboxItem.institution_id == institution_id, InboxItem.id == item_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_page(session: AsyncSession, institution_id: InstitutionId, page: PageRequest, *,
                    read: bool | None, case_ref: str | None) -> list[InboxItem]:
    query = select(InboxItem).where(InboxItem.institution_id == institution_id)
    if read is not None:
        query = query.where(InboxItem.read == read)
    if case_ref is not None:
        query = query.where(InboxItem.case_ref == case_ref)
    query = NEWEST_FIRST.apply(query, page)
    return list((await session.execute(query)).scalars())


async def mark_all_read(session: AsyncSession, institution_id: InstitutionId, *, now: datetime,
                        case_ref: str | None, up_to: datetime | None) -> int:
    statement = (update(InboxItem)
                 .where(InboxItem.institution_id == institution_id, InboxItem.read.is_(False))  # type: ignore[attr-defined]
                 .values(read=True, read_at=now).execution_options(synchronize_session=False))
    if case_ref is not None:
        statement = statement.where(InboxItem.case_ref == case_ref)
    if up_to is not None:
        statement = statement.where(InboxItem.created_at <= up_to)
    return rows_affected(await session.execute(statement))
