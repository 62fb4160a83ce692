"""Turning a complaint into the engine's facts, and an assessment into the events it announces."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from comitas_shared.errors import InvalidInput
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

from ..admissibility import Assessment, ComplaintFacts, FilingDeadline
from ..vocabularies import shipped as shipped_vocabularies

# The situation flags the engine reads (its Urgency model): the complaint records more (threats,
# reprisals, ongoing harm, interim measures asked), which the engine does not weigh.
ENGINE_URGENCY_FLAGS = ("imminent_removal", "detention", "disappearance", "risk_to_life")


def rights_for_engine(complaint: Any, citation: Callable[[str, str], str | None]) -> tuple[tuple[str, ...], bool]:
    """The rights the engine reads, and whether they are structured.

    Structured rights (instrument + article) are given as the catalogue's citation of each ("ICCPR art
    7", "ECHR P1-1"), which names exactly the instrument the engine's mechanism files recognise; the
    free-text notes are not read. Only a complaint with no structured right falls back on its free-text
    ``rights_invoked`` (older clients), read by keywords as before."""
    structured = [citation(str(r.get("instrument")), str(r.get("article"))) for r in complaint.rights or ()]
    cited = tuple(dict.fromkeys(c for c in structured if c))
    if cited:
        return cited, True
    return tuple(complaint.rights_invoked or ()), False


def _earliest(days: list[date | None]) -> date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def facts_of(complaint: Any, *, citation: Callable[[str, str], str | None] | None = None) -> ComplaintFacts:
    """The engine's view of a complaint. A complaint without a respondent state cannot be assessed.

    ``citation(instrument, article)`` gives a structured right's citation (default: the shipped rights
    catalogue); the
    events date defaults to the earliest incident, and the events continue when any incident does."""
    if not complaint.respondent_states:
        raise InvalidInput("the complaint names no respondent state: add one before assessing",
                            slug="complaint-not-assessable", title="Complaint cannot be assessed")
    stored = dict(complaint.urgency or {})
    urgency: dict[str, Any] = {flag: bool(stored.get(flag)) for flag in ENGINE_URGENCY_FLAGS}
    urgency["level"] = "urgent" if stored.get("level") == "urgent" else "none"
    filer = complaint.filer or {}
    petitioner = getattr(complaint, "petitioner", None)
    if petitioner:
        # Someone else brings it: a relative, a witness, an NGO (the engine's standing rules read this).
        filer_kind, victim_is_filer = ("ngo" if petitioner.get("kind") == "ngo" else "individual"), False
    else:
        filer_kind, victim_is_filer = filer.get("kind", "individual"), filer.get("is_victim", True)
    rights, structured = rights_for_engine(complaint, citation or shipped_citation)
    incidents = list(getattr(complaint, "incidents", None) or ())
    events_date = complaint.events_date or _earliest([_day(i.get("start")) for i in incidents])
    return ComplaintFacts(
        respondent_states=tuple(complaint.respondent_states),
        domestic_remedies=tuple(complaint.domestic_remedies or ()),
        other_procedures=tuple(complaint.other_procedures or ()),
        rights_invoked=rights,
        rights_structured=structured,
        urgency=urgency,
        filer_kind=filer_kind,
        victim_is_filer=victim_is_filer,
        events_date=events_date,
        events_continuing=bool(complaint.events_continuing) or any(i.get("ongoing") for i in incidents),
        filing_date=complaint.filing_date,
    )


def shipped_citation(instrument: str, article: str) -> str | None:
    """A structured right's citation from the shipped rights catalogue; None if it is not in it."""
    found = shipped_vocabularies().rights.instrument(instrument)
    return found.citation(article) if found is not None and article in found.articles else None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def deadline_key(complaint_id: str, deadline: FilingDeadline) -> str:
    return f"complaint:{complaint_id}:filing:{deadline.mechanism}"


def deadline_keys(complaint_id: str, assessment: dict[str, Any]) -> set[str]:
    return {f"complaint:{complaint_id}:filing:{d['mechanism']}" for d in assessment.get("deadlines", [])}


def handed_over_keys(complaint_id: str, transferred_from: dict[str, Any] | None) -> set[str]:
    """The deadlines a transfer asked to watch for a complaint not yet assessed here: its first assessment
    replaces them as a re-assessment replaces an earlier one's."""
    mechanisms = (transferred_from or {}).get("deadlines") or []
    return {f"complaint:{complaint_id}:filing:{m}" for m in mechanisms}


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


def handover_events(*, assessment: dict[str, Any], from_institution_id: str, from_complaint_id: str,
                    to_institution_id: str, to_complaint_id: str, to_reference: str, today: date, now: datetime,
                    source: str) -> tuple[list[CloudEvent], list[FilingDeadline]]:
    """A transfer hands the watched filing deadlines over: each limit the sender's latest assessment
    asked to watch is withdrawn for the sender (``reason="withdrawn"``: it no longer acts on the case),
    and each one still ahead is requested for the recipient under the recipient's complaint, with the
    same last day, zone, rule and citation (the victim's time limits keep running whoever holds the
    case). Returns the events and the deadlines handed over."""
    deadlines = [FilingDeadline.model_validate(d) for d in assessment.get("deadlines", [])]
    events: list[CloudEvent] = []
    for key in sorted(deadline_keys(from_complaint_id, assessment)):
        events.append(DEADLINE_WITHDRAWN.build(
            source=source, subject=from_complaint_id, institution_id=from_institution_id, time=now,
            data=DeadlineWithdrawn(deadline_key=key, institution_id=from_institution_id, reason="withdrawn")))
    ahead = [d for d in deadlines if d.last_day >= today]
    for deadline in ahead:
        events.append(DEADLINE_REQUESTED.build(
            source=source, subject=to_complaint_id, institution_id=to_institution_id, time=now,
            data=DeadlineRequested(
                deadline_key=deadline_key(to_complaint_id, deadline), institution_id=to_institution_id,
                kind="filing_limit", title=f"{deadline.what} ({to_reference})", case_ref=to_complaint_id,
                case_kind="complaint", mechanism=deadline.mechanism, last_day=deadline.last_day,
                time_zone=deadline.time_zone, due_at=deadline.ends_at_utc, calendar=deadline.calendar_rule,
                hard=deadline.hard, rule=deadline.citation.model_dump(mode="json"))))
    return events, ahead


# What an erased complaint's assessments keep: versions, the day, and the deadlines (a mechanism's code,
# dates, zones, the rule's wording and citation: nothing of the complaint's own words, which the findings
# quote).
ERASED_KEEP = ("rules_version", "acceptances_version", "assessed_on")


def erased_result(result: dict[str, Any]) -> dict[str, Any]:
    """An assessment's stored result once its complaint is erased."""
    kept: dict[str, Any] = {key: result[key] for key in ERASED_KEEP if key in result}
    kept["deadlines"] = list(result.get("deadlines", []))
    kept["erased"] = True
    return kept
