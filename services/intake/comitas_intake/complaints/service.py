"""Load, decide, persist, stage events. Never commits: the request's transaction does."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import NotFound
from comitas_shared.events.outbox import add_event
from comitas_shared.pagination import Page, PageRequest, page_of

from ..models import tables
from . import domain, repository
from .models import Complaint
from .schemas import ComplaintCreate, ComplaintOut, ComplaintUpdate


def to_out(complaint: Complaint) -> ComplaintOut:
    return ComplaintOut.model_validate(complaint, from_attributes=True)


async def submit_complaint(
    session: AsyncSession,
    platform: Platform,
    *,
    principal: Principal,
    payload: ComplaintCreate,
    idempotency_key: str | None,
    channel: str,
    now: datetime,
) -> tuple[int, dict]:
    """Returns the HTTP status and body, so a retry with the same Idempotency-Key gets both again."""
    async with platform.idempotency.guard(
        session, institution_id=principal.institution_id, operation="complaints.submit",
        key=idempotency_key, body=payload.model_dump(mode="json"),
    ) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body
        decision = domain.submit(
            complaint_id=str(uuid.uuid4()), institution_id=principal.institution_id, channel=channel,
            payload=payload, now=now, source=platform.source, reference=domain.new_reference(now),
        )
        complaint = Complaint(**decision.fields)
        await repository.add(session, complaint)
        await add_event(session, tables, decision.event)
        body = to_out(complaint).model_dump(mode="json")
        platform.idempotency.remember(call, 201, body)
        return 201, body


async def get_complaint(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str) -> Complaint:
    complaint = await repository.get(session, institution_id, complaint_id)
    if complaint is None:
        raise NotFound("no such complaint", slug="complaint-not-found", title="Complaint not found")
    return complaint


async def list_complaints(session: AsyncSession, *, institution_id: InstitutionId,
                          page: PageRequest) -> Page[ComplaintOut]:
    rows, cursor = page_of(await repository.page(session, institution_id, page), page,
                           key=lambda c: (c.created_at, c.id))
    return Page[ComplaintOut](items=[to_out(r) for r in rows], next_cursor=cursor)


async def update_complaint(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                           changes: ComplaintUpdate, now: datetime) -> Complaint:
    complaint = await get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    for name, value in domain.changed_fields(changes).items():
        setattr(complaint, name, value)
    complaint.version += 1
    complaint.updated_at = now
    await session.flush()
    return complaint
