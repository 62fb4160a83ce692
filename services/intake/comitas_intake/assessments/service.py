"""Run the rules on a complaint, store the result unchanged, and announce it and its deadlines."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import NotFound
from comitas_shared.events.outbox import add_event

from ..admissibility import FilingDeadline, assess
from ..complaints import service as complaints
from ..models import tables
from . import domain, repository
from .models import Assessment
from .rules_provider import Rules
from .schemas import AssessmentOut, MechanismCatalogueOut, MechanismOut

# The day an assessment is made is the day in Geneva, where most of the bodies count (a complaint
# assessed at 23:30 UTC on the last day is still within it there). Each limit carries its own zone.
ASSESSMENT_DAY_ZONE = ZoneInfo("Europe/Zurich")


def to_out(assessment: Assessment, *, complaint_version: int, rules: Rules) -> AssessmentOut:
    reasons = domain.stale_reasons(complaint_version=complaint_version, assessed_version=assessment.complaint_version,
                                   rules_version=rules.version, assessed_rules_version=assessment.rules_version)
    return AssessmentOut(id=assessment.id, complaint_id=assessment.complaint_id,
                         complaint_version=assessment.complaint_version, rules_version=assessment.rules_version,
                         created_at=assessment.created_at, stale=bool(reasons), stale_reasons=reasons,
                         result=assessment.result)


async def run_assessment(session: AsyncSession, platform: Platform, *, principal: Principal, complaint_id: str,
                         rules: Rules, now: datetime) -> AssessmentOut:
    complaint = await complaints.get_complaint(session, institution_id=principal.institution_id,
                                               complaint_id=complaint_id)
    facts = domain.facts_of(complaint)
    today = now.astimezone(ASSESSMENT_DAY_ZONE).date()
    result = assess(facts, catalogue=rules.catalogue, acceptances=rules.acceptances, today=today)
    previous = await repository.latest(session, principal.institution_id, complaint_id)
    stored = Assessment(id=str(uuid.uuid4()), institution_id=principal.institution_id, complaint_id=complaint_id,
                        complaint_version=complaint.version, rules_version=rules.version,
                        result=result.model_dump(mode="json"), created_at=now)
    await repository.add(session, stored)
    previous_keys = (domain.deadline_keys(complaint_id, previous.result) if previous
                     else domain.handed_over_keys(complaint_id, complaint.transferred_from))
    for event in domain.events_for(assessment=result, assessment_id=stored.id, complaint_id=complaint_id,
                                   reference=complaint.reference, institution_id=principal.institution_id,
                                   previous_keys=previous_keys, now=now, source=platform.source, today=today):
        await add_event(session, tables, event)
    return to_out(stored, complaint_version=complaint.version, rules=rules)


async def list_assessments(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                           rules: Rules) -> list[AssessmentOut]:
    complaint = await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    rows = await repository.for_complaint(session, institution_id, complaint_id)
    return [to_out(r, complaint_version=complaint.version, rules=rules) for r in rows]


async def get_assessment(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                         assessment_id: str, rules: Rules) -> AssessmentOut:
    complaint = await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    row = await repository.get(session, institution_id, complaint_id, assessment_id)
    if row is None:
        raise NotFound("no such assessment", slug="assessment-not-found", title="Assessment not found")
    return to_out(row, complaint_version=complaint.version, rules=rules)


def catalogue_of(rules: Rules) -> MechanismCatalogueOut:
    return MechanismCatalogueOut(
        rules_version=rules.catalogue.version,
        acceptances_version=rules.acceptances.version,
        acceptance_lists=[
            {"key": key, **found.model_dump(mode="json", include={"title", "as_of", "complete", "status", "source", "note"})}
            for key, found in sorted(rules.acceptances.lists.items())
        ],
        mechanisms=[
            MechanismOut(code=code, name=m.name, short_name=m.short_name, version=m.version, time_zone=m.time_zone,
                         rules=m.model_dump(mode="json"))
            for code, m in sorted(rules.catalogue.mechanisms.items())
        ],
    )


async def hand_over_deadlines(session: AsyncSession, platform: Platform, *, owner: InstitutionId,
                              from_complaint_id: str, recipient: InstitutionId, to_complaint_id: str,
                              to_reference: str, now: datetime) -> list[FilingDeadline]:
    """A transfer's deadlines: withdrawn for the sender, requested for the recipient (same last days and
    rules), from the sender's latest assessment; nothing when the complaint was never assessed."""
    latest = await repository.latest(session, owner, from_complaint_id)
    if latest is None:
        return []
    events, handed = domain.handover_events(
        assessment=latest.result, from_institution_id=owner, from_complaint_id=from_complaint_id,
        to_institution_id=recipient, to_complaint_id=to_complaint_id, to_reference=to_reference,
        today=now.astimezone(ASSESSMENT_DAY_ZONE).date(), now=now, source=platform.source)
    for event in events:
        await add_event(session, tables, event)
    return handed


async def forget_facts(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str) -> int:
    """Erasure: the stored assessments keep only what names no one (the rules' versions, the day, and the
    filing deadlines as codes, dates and rule citations); their findings, which quote the complaint's
    facts (the domestic remedies' descriptions among them), go. Returns how many were emptied."""
    rows = await repository.for_complaint(session, institution_id, complaint_id, limit=10_000)
    for row in rows:
        row.result = domain.erased_result(row.result)
    await session.flush()
    return len(rows)
