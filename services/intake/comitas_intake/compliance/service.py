"""Load, decide, persist, stage events. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import Conflict, InvalidInput, NotFound
from comitas_shared.events.outbox import add_event
from comitas_shared.pagination import Page, PageRequest

from .. import case_deadlines
from ..filings import service as filings
from ..models import tables
from . import domain, repository
from .models import ComplianceMeasure, ComplianceStatus
from .rules import Procedure, shipped_follow_up
from .schemas import (
    CellOut,
    ComplianceOut,
    DecisionCreate,
    MeasureOut,
    ProcedureOut,
    RowOut,
    StatusCreate,
    StatusOut,
    TableOut,
)


class MeasureNotFound(NotFound):
    slug, title = "measure-not-found", "Measure not found"


def _procedure(body: str) -> Procedure:
    try:
        return shipped_follow_up().for_body(body)
    except KeyError:
        raise InvalidInput(f"{body} has no follow-up procedure of decisions", slug="validation-error",
                           title="Validation error", errors=[{"pointer": "", "detail": "no follow-up"}]) from None


def _out(row: ComplianceMeasure, history: list[ComplianceStatus]) -> MeasureOut:
    procedure = _procedure(row.body)
    return MeasureOut(
        id=row.id, filing_id=row.filing_id, body=row.body, respondent_state=row.respondent_state,
        kind=domain.Kind(row.kind), type=domain.MeasureType(row.measure_type), decided_on=row.decided_on,
        final_on=row.final_on, track=row.track, status=domain.Status(row.status), status_as_of=row.status_as_of,
        history=[StatusOut(status=domain.Status(h.status), as_of=h.as_of, source=h.source, grade=h.grade)
                 for h in history],
        report_due=domain.report_due(procedure, decided_on=row.decided_on, final_on=row.final_on),
        created_at=row.created_at, updated_at=row.updated_at, version=row.version)


async def record_decision(session: AsyncSession, platform: Platform, *, principal: Principal, filing_id: str,
                          request: DecisionCreate, now: datetime) -> list[MeasureOut]:
    institution_id = principal.institution_id
    row, body = await filings.find(session, institution_id=institution_id, filing_id=filing_id)
    if row.status != "decided":
        raise Conflict(f"the filing is {row.status}: record its decision (status decide) first",
                       current_status=row.status)
    procedure = _procedure(body.code)
    existing = await repository.measures_page(session, institution_id, row.id, PageRequest(limit=1, after=None))
    if existing:
        raise Conflict("the decision's measures are already recorded: record their statuses")
    domain.check_decision(procedure, decided_on=request.decided_on, final_on=request.final_on,
                          today=case_deadlines.latest_today(now), measures=[(m.kind, m.type) for m in request.measures])
    if request.track is not None and request.track not in procedure.tracks:
        raise InvalidInput(f"{procedure.name} has the tracks {', '.join(procedure.tracks) or 'none'}",
                           slug="validation-error", title="Validation error",
                           errors=[{"pointer": "/track", "detail": "unknown track"}])
    measures = [ComplianceMeasure(
        id=str(uuid.uuid4()), institution_id=institution_id, filing_id=row.id, complaint_id=row.complaint_id,
        body=body.code, respondent_state=request.respondent_state, kind=measure.kind.value,
        measure_type=measure.type.value, decided_on=request.decided_on, final_on=request.final_on,
        status=domain.Status.NOT_IMPLEMENTED.value, status_as_of=request.decided_on, track=request.track,
        created_at=now, updated_at=now) for measure in request.measures]
    firsts = [ComplianceStatus(id=str(uuid.uuid4()), institution_id=institution_id, measure_id=created.id,
                               status=created.status, as_of=request.decided_on, source="decision", created_at=now)
              for created in measures]
    # The statuses refer to their measures, and no relationship tells the flush so: measures first.
    await repository.add_all(session, measures)
    await repository.add_all(session, firsts)
    out = [_out(created, [first]) for created, first in zip(measures, firsts, strict=True)]
    for event in domain.follow_up_events(procedure, filing_id=row.id, complaint_id=row.complaint_id,
                                         institution_id=institution_id, mechanism=body.mechanism,
                                         state=request.respondent_state, decided_on=request.decided_on,
                                         final_on=request.final_on, now=now, source=platform.source):
        await add_event(session, tables, event)
    return out


async def list_measures(session: AsyncSession, *, institution_id: InstitutionId, filing_id: str,
                        page: PageRequest) -> Page[MeasureOut]:
    row, _ = await filings.find(session, institution_id=institution_id, filing_id=filing_id)
    rows = await repository.measures_page(session, institution_id, row.id, page)
    histories = await repository.statuses_of(session, institution_id, [r.id for r in rows])
    return repository.IN_ORDER.cut(rows, page, lambda r: _out(r, histories.get(r.id, [])))


async def record_status(session: AsyncSession, platform: Platform, *, principal: Principal, filing_id: str,
                        measure_id: str, request: StatusCreate, now: datetime) -> MeasureOut:
    institution_id = principal.institution_id
    row, body = await filings.find(session, institution_id=institution_id, filing_id=filing_id)
    measure = await repository.measure(session, institution_id, row.id, measure_id)
    if measure is None:
        raise MeasureNotFound("no such measure")
    procedure = _procedure(body.code)
    reported_before = await repository.has_state_report(session, institution_id, row.id)
    change = domain.status_change(procedure, current=domain.Status(measure.status), last_as_of=measure.status_as_of,
                                  decided_on=measure.decided_on, status=request.status, as_of=request.as_of,
                                  source=request.source, grade=request.grade, today=case_deadlines.latest_today(now))
    await repository.add(session, ComplianceStatus(
        id=str(uuid.uuid4()), institution_id=institution_id, measure_id=measure.id, status=change.to_status.value,
        as_of=request.as_of, source=request.source, grade=request.grade, created_at=now))
    measure.status, measure.status_as_of = change.to_status.value, request.as_of
    measure.updated_at, measure.version = now, measure.version + 1
    await session.flush()
    if request.source == "state_report" and not reported_before and procedure.report is not None:
        await add_event(session, tables, domain.report_received(
            filing_id=row.id, complaint_id=row.complaint_id, institution_id=institution_id, now=now,
            source=platform.source))
    return _out(measure, await repository.statuses(session, institution_id, measure.id))


async def published(session: AsyncSession, *, now: datetime) -> ComplianceOut:
    """The fixed tables every institution sees: counts by code and year only, small cells suppressed."""
    facts = [domain.MeasureFacts(respondent_state=m.respondent_state, body=m.body, kind=m.kind,
                                 decided_on=m.decided_on,
                                 history=tuple((h.as_of, domain.Status(h.status)) for h in history))
             for m, history in await repository.every_measure_with_history(session)]
    tables_ = domain.trajectories(facts, today=now.date())
    follow_up = shipped_follow_up()
    return ComplianceOut(
        threshold=domain.THRESHOLD, generated_on=now.date(),
        tables=[TableOut(dimension=t.dimension, chart=domain.chart(t), rows=[
            RowOut(key=r.key, period=r.period, total=r.total, cells=[
                CellOut(status=c.status, measures=c.count, suppressed=c.suppressed) for c in r.cells])
            for r in t.rows]) for t in tables_],
        procedures=[ProcedureOut(id=p.id, name=p.name, bodies=list(p.bodies),
                                 report=p.report.model_dump(by_alias=True) if p.report else None,
                                 scale=list(p.scale), tracks=list(p.tracks), submissions=list(p.submissions),
                                 source=p.source, status=p.status) for p in follow_up.procedure])
