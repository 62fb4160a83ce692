"""Turning a complaint into the engine's facts, and an assessment into the events it announces."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from comitas_shared.errors import Unprocessable
from comitas_shared.events.catalogue import (
    COMPLAINT_ASSESSED,
    DEADLINE_REQUESTED,
    DEADLINE_WITHDRAWN,
    ComplaintAssessed,
    DeadlineRequested,
    DeadlineWithdrawn,
    MechanismSummary,
)
from comitas_shared.events.envelope import CloudEvent

from ..admissibility.facts import ComplaintFacts
from ..admissibility.findings import Assessment, FilingDeadline


def facts_of(complaint: Any) -> ComplaintFacts:
    """The engine's view of a complaint. A complaint without a respondent state cannot be assessed."""
    if not complaint.respondent_states:
        raise Unprocessable("the complaint names no respondent state: add one before assessing",
                            slug="complaint-not-assessable", title="Complaint cannot be assessed")
    urgency = dict(complaint.urgency or {})
    urgency.pop("removal_date", None)
    if urgency.get("level") == "normal":
        urgency["level"] = "none"
    filer = complaint.filer or {}
    return ComplaintFacts(
        respondent_states=tuple(complaint.respondent_states),
        domestic_remedies=tuple(complaint.domestic_remedies or ()),
        other_procedures=tuple(complaint.other_procedures or ()),
        rights_invoked=tuple(complaint.rights_invoked or ()),
        urgency=urgency,
        filer_kind=filer.get("kind", "individual"),
        victim_is_filer=filer.get("is_victim", True),
        events_date=complaint.events_date,
    )


def deadline_key(complaint_id: str, deadline: FilingDeadline) -> str:
    return f"complaint:{complaint_id}:filing:{deadline.mechanism}"


def deadline_keys(complaint_id: str, assessment: dict[str, Any]) -> set[str]:
    return {f"complaint:{complaint_id}:filing:{d['mechanism']}" for d in assessment.get("deadlines", [])}


def events_for(*, assessment: Assessment, assessment_id: str, complaint_id: str, reference: str,
               institution_id: str, previous_keys: set[str], now: datetime, source: str,
               today: date) -> list[CloudEvent]:
    """``complaint.assessed``, a ``deadline.requested`` per filing limit still ahead, and a
    ``deadline.withdrawn`` for each limit an earlier assessment asked to watch that no longer applies."""
    events = [COMPLAINT_ASSESSED.build(
        source=source, subject=complaint_id, institution_id=institution_id, time=now,
        data=ComplaintAssessed(
            complaint_id=complaint_id, assessment_id=assessment_id, institution_id=institution_id,
            rules_version=assessment.rules_version, assessed_at=now,
            recommended=[r.mechanism for r in assessment.recommendations],
            mechanisms=[MechanismSummary(
                mechanism=f.mechanism, available=f.availability.available.value,
                last_day=f.time_limit.last_day if f.time_limit else None,
                time_zone=f.time_limit.time_zone if f.time_limit else None) for f in assessment.findings],
        ),
    )]
    current: set[str] = set()
    for deadline in assessment.deadlines:
        if deadline.last_day < today:
            continue
        key = deadline_key(complaint_id, deadline)
        current.add(key)
        events.append(DEADLINE_REQUESTED.build(
            source=source, subject=complaint_id, institution_id=institution_id, time=now,
            data=DeadlineRequested(
                deadline_key=key, institution_id=institution_id, kind="filing_limit",
                title=f"{deadline.what} ({reference})", case_ref=complaint_id, case_kind="complaint",
                mechanism=deadline.mechanism, last_day=deadline.last_day, time_zone=deadline.time_zone,
                due_at=deadline.ends_at_utc, calendar=deadline.calendar_rule, hard=deadline.hard,
                rule=deadline.citation.model_dump(mode="json"),
            ),
        ))
    for key in sorted(previous_keys - current):
        events.append(DEADLINE_WITHDRAWN.build(
            source=source, subject=complaint_id, institution_id=institution_id, time=now,
            data=DeadlineWithdrawn(deadline_key=key, institution_id=institution_id, reason="superseded"),
        ))
    return events


def stale_reasons(*, complaint_version: int, assessed_version: int, rules_version: str,
                  assessed_rules_version: str) -> list[str]:
    reasons = []
    if complaint_version != assessed_version:
        reasons.append("the complaint changed since this assessment")
    if rules_version != assessed_rules_version:
        reasons.append("the rules changed since this assessment")
    return reasons
