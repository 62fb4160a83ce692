from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.events.envelope import new_event_id
from comitas_shared.pagination import PageRequest, page_of

from . import repository
from .models import InboxItem
from .schemas import InboxItemOut, InboxPage

DEADLINE_REMINDER = "deadline_reminder"


async def add_deadline_reminder(session: AsyncSession, *, institution_id: InstitutionId, deadline_id: str,
                                deadline_key: str, title: str, reminder: str, due_at: datetime) -> bool:
    """One item per deadline, reminder and due time, however often the timer fires."""
    if await repository.find_reminder(session, institution_id, deadline_id=deadline_id, reminder=reminder,
                                      due_at=due_at) is not None:
        return False
    await repository.add(session, InboxItem(
        id=new_event_id(), institution_id=institution_id, kind=DEADLINE_REMINDER, title=title[:500],
        deadline_id=deadline_id, deadline_key=deadline_key, reminder=reminder, due_at=due_at, read=False,
        created_at=datetime.now(UTC)))
    return True


async def list_page(session: AsyncSession, *, institution_id: InstitutionId, page: PageRequest,
                    read: bool | None) -> InboxPage:
    rows = await repository.list_page(session, institution_id, page, read=read)
    items, cursor = page_of(rows, page, lambda i: (i.created_at, i.id))
    return InboxPage(items=[InboxItemOut.model_validate(i, from_attributes=True) for i in items], next_cursor=cursor)
