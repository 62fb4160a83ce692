"""Deadlines: kept in step with their owners' events; read through the API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.events.catalogue import DeadlineRequested, DeadlineWithdrawn
from comitas_shared.events.envelope import CloudEvent, new_event_id
from comitas_shared.pagination import PageRequest, page_of

from . import repository
from .domain import DeadlineFacts, DeadlineState, DeadlineStatus, on_requested, on_withdrawn
from .models import Deadline
from .schemas import DeadlineOut, DeadlinePage

log = logging.getLogger(__name__)

# Set on a session whose deadlines need their timers changed: after the commit, the timers follow.
SYNC_TIMERS = "comitas_notifications_sync_timers"

M = TypeVar("M", bound=BaseModel)


def _lenient(model: type[M], data: dict[str, Any]) -> M:
    """Producers are strict; a consumer ignores fields added after it was written (additive changes)."""
    return model.model_validate({k: v for k, v in data.items() if k in model.model_fields})


def _facts(data: DeadlineRequested) -> DeadlineFacts:
    return DeadlineFacts(kind=data.kind, title=data.title, case_ref=data.case_ref, case_kind=data.case_kind,
                         mechanism=data.mechanism, last_day=data.last_day, time_zone=data.time_zone,
                         due_at=data.due_at.astimezone(UTC), calendar=data.calendar, hard=data.hard,
                         rule=dict(data.rule))


def _status(row: Deadline) -> DeadlineStatus:
    facts = DeadlineFacts(kind=row.kind, title=row.title, case_ref=row.case_ref, case_kind=row.case_kind,
                          mechanism=row.mechanism, last_day=row.last_day, time_zone=row.time_zone,
                          due_at=row.due_at, calendar=row.calendar, hard=row.hard, rule=dict(row.rule))
    return DeadlineStatus(facts, DeadlineState(row.state), row.closed_reason, row.revision, row.last_event_at)


def _write(row: Deadline, status: DeadlineStatus, event: CloudEvent, now: datetime) -> None:
    facts = status.facts
    row.kind, row.title, row.case_ref, row.case_kind = facts.kind, facts.title, facts.case_ref, facts.case_kind
    row.mechanism, row.last_day, row.time_zone, row.due_at = facts.mechanism, facts.last_day, facts.time_zone, facts.due_at
    row.calendar, row.hard, row.rule = facts.calendar, facts.hard, dict(facts.rule)
    row.state, row.closed_reason, row.revision = status.state, status.closed_reason, status.revision
    row.last_event_id, row.last_event_at, row.updated_at = event.id, status.last_event_at, now


def _mark_for_timers(session: AsyncSession, row: Deadline) -> None:
    session.info.setdefault(SYNC_TIMERS, set()).add((row.institution_id, row.id))


async def apply_requested(session: AsyncSession, event: CloudEvent) -> None:
    try:
        data = _lenient(DeadlineRequested, event.data)
    except ValidationError as exc:
        # A malformed event will never become well-formed: log it and let it go (it stays in EVENTS).
        log.error("deadline.requested %s is malformed and ignored: %s", event.id, exc)
        return
    institution_id = institution_id_for_system(data.institution_id)
    now = datetime.now(UTC)
    row = await repository.by_key(session, institution_id, data.deadline_key)
    status = on_requested(_status(row) if row else None, _facts(data), event_at=event.time)
    if status is None:
        return
    if row is None:
        # Table models do not validate on construction; _write sets every other column.
        row = Deadline(id=new_event_id(), institution_id=institution_id, deadline_key=data.deadline_key,
                       created_at=now)
        _write(row, status, event, now)
        await repository.add(session, row)
    else:
        previous_revision = row.revision
        _write(row, status, event, now)
        await session.flush()
        if row.revision == previous_revision:
            return
    _mark_for_timers(session, row)


async def apply_withdrawn(session: AsyncSession, event: CloudEvent) -> None:
    try:
        data = _lenient(DeadlineWithdrawn, event.data)
    except ValidationError as exc:
        log.error("deadline.withdrawn %s is malformed and ignored: %s", event.id, exc)
        return
    row = await repository.by_key(session, institution_id_for_system(data.institution_id), data.deadline_key)
    if row is None:
        log.info("deadline.withdrawn %s names a deadline never requested; ignored", event.id)
        return
    status = on_withdrawn(_status(row), data.reason, event_at=event.time)
    if status is None:
        return
    previous_revision = row.revision
    _write(row, status, event, datetime.now(UTC))
    await session.flush()
    if row.revision != previous_revision:
        _mark_for_timers(session, row)


def to_out(row: Deadline) -> DeadlineOut:
    return DeadlineOut.model_validate(row, from_attributes=True)


async def list_page(session: AsyncSession, *, institution_id: InstitutionId, page: PageRequest,
                    state: DeadlineState | None) -> DeadlinePage:
    rows = await repository.list_page(session, institution_id, page, state=state)
    items, cursor = page_of(rows, page, lambda d: (d.due_at, d.id))
    return DeadlinePage(items=[to_out(d) for d in items], next_cursor=cursor)
