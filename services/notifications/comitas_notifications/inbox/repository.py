"""Every query on the inbox; each takes the institution."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageRequest, paginate

from .models import InboxItem


async def add(session: AsyncSession, item: InboxItem) -> None:
    session.add(item)
    await session.flush()


async def find_reminder(session: AsyncSession, institution_id: InstitutionId, *, deadline_id: str, reminder: str,
                        due_at: datetime) -> InboxItem | None:
    query = select(InboxItem).where(InboxItem.institution_id == institution_id, InboxItem.deadline_id == deadline_id,
                                    InboxItem.reminder == reminder, InboxItem.due_at == due_at)
    return (await session.execute(query)).scalar_one_or_none()


async def list_page(session: AsyncSession, institution_id: InstitutionId, page: PageRequest, *,
                    read: bool | None) -> list[InboxItem]:
    query = select(InboxItem).where(InboxItem.institution_id == institution_id)
    if read is not None:
        query = query.where(InboxItem.read == read)
    query = paginate(query, page, at=InboxItem.created_at, id_=InboxItem.id)
    return list((await session.execute(query)).scalars())
