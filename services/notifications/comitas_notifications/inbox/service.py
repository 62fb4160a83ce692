"""The inbox: deadline reminders for an institution's officers, read and marked read or unread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.errors import NotFound
from comitas_shared.events.envelope import new_event_id
from comitas_shared.pagination import Page, PageRequest

from . import repository
from .models import InboxItem
from .schemas import InboxItemOut, MarkAllRead, MarkedRead

DEADLINE_REMINDER = "deadline_reminder"


@dataclass(frozen=True)
class NewReminder:
    institution_id: InstitutionId
    deadline_id: str
    deadline_key: str
    case_ref: str
    title: str
    reminder: str
    due_at: datetime
    last_day: date
    time_zone: str
    event_id: str


async def add_deadline_reminders(session: AsyncSession, *, reminders: Sequence[NewReminder],
                                 now: datetime) -> list[NewReminder]:
    """One item per deadline, reminder and due time, however often its timer fires; returns those added
    now (not those already there). Each reminder names its institution; one batch may hold many."""
    if not reminders:
        return []
    seen = await repository.reminder_keys(session, [(r.institution_id, r.deadline_id) for r in reminders])
    added: list[NewReminder] = []
    for reminder in reminders:
        key = (reminder.deadline_id, reminder.reminder, reminder.due_at)
        if key not in seen:
            seen.add(key)
            added.append(reminder)
    await repository.insert_many(session, [dict(
        id=new_event_id(), institution_id=r.institution_id, kind=DEADLINE_REMINDER, title=r.title[:500],
        case_ref=r.case_ref, deadline_id=r.deadline_id, deadline_key=r.deadline_key, reminder=r.reminder,
        due_at=r.due_at, last_day=r.last_day, time_zone=r.time_zone, event_id=r.event_id, read=False,
        read_at=None, created_at=now) for r in added])
    return added


def to_out(item: InboxItem) -> InboxItemOut:
    return InboxItemOut.model_validate(item, from_attributes=True)


async def list_page(session: AsyncSession, *, institution_id: InstitutionId, page: PageRequest,
                    read: bool | None, case_ref: str | None = None) -> Page[InboxItemOut]:
    rows = await repository.list_page(session, institution_id, page, read=read, case_ref=case_ref)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


async def mark(session: AsyncSession, *, institution_id: InstitutionId, item_id: str, read: bool,
               now: datetime) -> InboxItemOut:
    item = await repository.get(session, institution_id, item_id)
    if item is None:
        raise NotFound("no such inbox item")
    if item.read != read:
        item.read, item.read_at = read, now if read else None
        await session.flush()
    return to_out(item)


async def mark_all_read(session: AsyncSession, *, institution_id: InstitutionId, request: MarkAllRead,
                        now: datetime) -> MarkedRead:
    marked = await repository.mark_all_read(session, institution_id, now=now, case_ref=request.case_ref,
                                            up_to=request.up_to)
    return MarkedRead(marked=marked)
