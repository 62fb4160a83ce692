"""Load, decide, persist, stage events. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import InvalidInput
from comitas_shared.events.outbox import add_event

from .. import case_deadlines
from ..filings import service as filings
from ..models import tables
from . import domain, repository
from .models import ProceedingLimit, ProceedingStep
from .rules import Procedure, shipped_procedures
from .schemas import LimitOut, ProceedingsOut, StepCreate, StepKindOut, StepOut

INTERIM_KIND = "interim_measures"
Row = TypeVar("Row", ProceedingStep, ProceedingLimit)


def _procedure(body: str) -> Procedure:
    return shipped_procedures().for_body(body)


def _in_order(rows: list[Row]) -> list[Row]:
    """As the repository reads them (by creation, then id)."""
    return sorted(rows, key=lambda row: (row.created_at, row.id))


def _out(filing_id: str, procedure: Procedure, steps: list[ProceedingStep],
         limits: list[ProceedingLimit]) -> ProceedingsOut:
    interim = next((s.interim_state for s in reversed(steps) if s.interim_state), None)
    return ProceedingsOut(
        filing_id=filing_id, procedure=procedure.id,
        steps_available=[StepKindOut(kind=s.kind, label=s.label, opens=[o.deadline for o in s.opens],
                                     meets=list(s.meets)) for s in procedure.step],
        interim_channels=list(procedure.interim_channels),
        interim_state=domain.Interim(interim) if interim else None,
        steps=[StepOut(id=s.id, kind=s.kind, on=s.on, interim_action=s.interim_action, interim_state=s.interim_state,
                       channel=s.channel, created_at=s.created_at) for s in steps],
        limits=[LimitOut(deadline=x.deadline, label=x.label, last_day=x.last_day, status=x.status,
                         opened_by=x.opened_by, met_by=x.met_by, rule=x.rule) for x in limits])


async def proceedings(session: AsyncSession, *, institution_id: InstitutionId, filing_id: str) -> ProceedingsOut:
    row, body = await filings.find(session, institution_id=institution_id, filing_id=filing_id)
    return _out(row.id, _procedure(body.code), await repository.steps(session, institution_id, row.id),
                await repository.limits(session, institution_id, row.id))


async def record(session: AsyncSession, platform: Platform, *, principal: Principal, filing_id: str,
                 request: StepCreate, now: datetime) -> ProceedingsOut:
    institution_id = principal.institution_id
    row, body = await filings.find(session, institution_id=institution_id, filing_id=filing_id)
    procedure = _procedure(body.code)
    today = case_deadlines.latest_today(now)
    steps = await repository.steps(session, institution_id, row.id)
    limits = await repository.limits(session, institution_id, row.id)
    step = ProceedingStep(id=str(uuid.uuid4()), institution_id=institution_id, filing_id=row.id, kind="",
                          on=request.on, created_at=now)
    if (request.kind is None) == (request.interim is None):
        raise InvalidInput("give either a step's kind or an interim-measures action", slug="validation-error",
                           title="Validation error", errors=[{"pointer": "/kind", "detail": "kind or interim"}])
    if request.interim is not None:
        current = next((s.interim_state for s in reversed(steps) if s.interim_state), None)
        state = domain.interim_transition(procedure, state=current, action=request.interim, channel=request.channel,
                                          on=request.on, today=today)
        step.kind, step.interim_action, step.interim_state, step.channel = (
            INTERIM_KIND, request.interim.value, state.value, request.channel)
        await repository.add(session, step)
    else:
        assert request.kind is not None
        if request.channel is not None:
            raise InvalidInput("only an interim-measures request records its channel", slug="validation-error",
                               title="Validation error", errors=[{"pointer": "/channel", "detail": "not used"}])
        open_limits = {x.deadline: x for x in limits if x.status == "open"}
        # The Special Procedures' publication check was asked of notifications when the filing was filed
        # (filings): it has a row here only once a step meets it.
        check = body.publication_check
        if check is not None and row.filed_on is not None and not any(
                x.deadline == filings.PUBLICATION_CHECK for x in limits):
            open_limits[filings.PUBLICATION_CHECK] = ProceedingLimit(
                id=str(uuid.uuid4()), institution_id=institution_id, filing_id=row.id,
                deadline=filings.PUBLICATION_CHECK, label=check.what,
                last_day=case_deadlines.add_period(row.filed_on, check.amount, check.unit), status="open", opened_by=row.id,
                created_at=now)
        decided = domain.record_step(
            procedure, filing_status=row.status, kind=request.kind, on=request.on, today=today, set_days=dict(request.deadlines),
            open_limits=open_limits, filing_id=row.id, complaint_id=row.complaint_id, institution_id=institution_id,
            mechanism=body.mechanism, concerns=None, now=now, source=platform.source)
        step.kind = request.kind
        await repository.add(session, step)
        added: list[ProceedingLimit] = []
        for deadline in decided.met:
            limit = open_limits[deadline]
            limit.status, limit.met_by = "met", step.id
            if deadline == filings.PUBLICATION_CHECK:
                await repository.add(session, limit)
                added.append(limit)
        for opened in decided.opened:
            for old in (x for x in limits if x.deadline == opened.limit.deadline and x.status == "open"):
                old.status = "moved"
            new = ProceedingLimit(
                id=str(uuid.uuid4()), institution_id=institution_id, filing_id=row.id, deadline=opened.limit.deadline,
                label=opened.limit.label, last_day=opened.last_day, status="open", opened_by=step.id,
                rule={"provision": opened.limit.provision, "source": opened.limit.source,
                      "status": opened.limit.status}, created_at=now)
            await repository.add(session, new)
            added.append(new)
        for event in decided.events:
            await add_event(session, tables, event)
        limits += added
    await session.flush()
    return _out(row.id, procedure, _in_order([*steps, step]), _in_order(limits))
