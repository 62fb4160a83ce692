"""The admissibility engine: a complaint's facts against every mechanism's rules.

``assess`` is a pure function of its arguments: the facts, the rule catalogue, the acceptance
dataset and an explicit ``today``. It decides nothing on its own authority: every finding cites the
rule it rests on, unknowns stay unknown ("check") rather than being guessed, and soft limits are
warnings that name the reason one could give to override them, never rejections.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, NamedTuple

from .acceptances import AcceptanceAnswer, AcceptanceDataset, Tri, all_of, any_of
from .catalogue import Catalogue
from .dates import last_day_of_period, no_time_limit, reasonable_time
from .facts import ComplaintFacts, OtherProcedure, ProcedureStatus
from .findings import (
    EXCLUDED_VERDICTS,
    Assessment,
    Availability,
    CandidateConflict,
    Citation,
    ConflictTiming,
    DuplicationConflict,
    Exhaustion,
    ExhaustionOutcome,
    FilingDeadline,
    InterimMeasuresRoute,
    MechanismFinding,
    Recommendation,
    Severity,
    Standing,
    StandingOutcome,
    StateAcceptance,
    TimeLimit,
    TimeLimitStatus,
    Verdict,
)
from .rules import (
    Blocks,
    Hardness,
    LimitKind,
    LimitSpec,
    MechanismRules,
    RuleStatus,
    Sourced,
    StartEvent,
    StopEvent,
    Transition,
)

START_EVENT_WORDS = {
    StartEvent.FINAL_DECISION: "the final domestic decision",
    StartEvent.NOTIFICATION_OF_DECISION: "notification of the final domestic decision",
    StartEvent.EXHAUSTION: "exhaustion of domestic remedies (the final domestic decision)",
    StartEvent.END_OF_OTHER_PROCEDURE: "the end of the other international procedure",
    StartEvent.NONE: "no start event",
}

VERDICT_ORDER = list(Verdict)


def assess(facts: ComplaintFacts, *, catalogue: Catalogue, acceptances: AcceptanceDataset,
           today: date) -> Assessment:
    """Assess ``facts`` against every mechanism in ``catalogue`` as at ``today``."""
    findings = [
        assess_mechanism(rules, facts, acceptances=acceptances, today=today)
        for rules in catalogue.mechanisms.values()
    ]
    return Assessment(
        rules_version=catalogue.version,
        acceptances_version=acceptances.version,
        assessed_on=today,
        findings=findings,
        recommendations=recommend(findings),
        candidate_conflicts=conflicts_between_candidates(findings, catalogue),
        interim_measures=interim_routes(findings),
        deadlines=filing_deadlines(findings),
    )


def assess_mechanism(rules: MechanismRules, facts: ComplaintFacts, *, acceptances: AcceptanceDataset,
                     today: date) -> MechanismFinding:
    availability = assess_availability(rules, facts, acceptances, today)
    standing = assess_standing(rules, facts)
    exhaustion = assess_exhaustion(rules, facts)
    time_limits = [assess_time_limit(rules, spec, facts, exhaustion, today)
                   for spec in (rules.time_limit, *rules.time_limit.further)]
    conflicts, duplication_notes = assess_duplication(rules, facts)
    rights_match, rights_note = match_rights(rules, facts)
    verdict, verdict_reasons = decide_verdict(availability, standing, exhaustion, time_limits, conflicts,
                                              rights_match, rights_note)
    interim = interim_route(rules, facts, availability, standing, conflicts)
    citations = _all_citations(rules)
    return MechanismFinding(
        mechanism=rules.code,
        name=rules.name,
        rules_version=rules.version,
        binding_outcome=rules.outcome.binding,
        verdict=verdict,
        verdict_reasons=verdict_reasons,
        availability=availability,
        standing=standing,
        exhaustion=exhaustion,
        time_limits=time_limits,
        duplication_conflicts=conflicts,
        duplication_notes=duplication_notes,
        rights_match=rights_match,
        rights_note=rights_note,
        interim_measures=interim,
        citations=citations,
    )


# --- citations -----------------------------------------------------------------------------------


def cite(mechanism: str, rule: Sourced) -> Citation:
    return Citation(mechanism=mechanism, provision=rule.provision, source=rule.source, status=rule.status,
                    note=rule.note)


def _all_citations(rules: MechanismRules) -> list[Citation]:
    sections: list[Sourced | None] = [rules.instrument, rules.outcome, rules.acceptance, rules.standing, rules.scope,
                                      rules.exhaustion, rules.time_limit, rules.non_duplication,
                                      rules.interim_measures]
    return [cite(rules.code, section) for section in sections if section is not None]


# --- availability: acceptance by the state, and the mechanism's subject scope --------------------------


def assess_availability(rules: MechanismRules, facts: ComplaintFacts, acceptances: AcceptanceDataset,
                        today: date) -> Availability:
    per_state = [_state_acceptance(rules, state, facts, acceptances, today) for state in facts.respondent_states]
    # Available if it can hear the complaint against at least one of the respondent states.
    answer = any_of([s.answer for s in per_state])
    accepted = [s.state for s in per_state if s.answer is Tri.YES]
    reasons = [reason for s in per_state for reason in s.reasons]
    if accepted and len(accepted) < len(per_state):
        others = [s.state for s in per_state if s.answer is not Tri.YES]
        reasons.append(f"Available only against {', '.join(accepted)}; not (or not known to be) against "
                       f"{', '.join(others)}.")
    citations = [cite(rules.code, rules.acceptance)]
    out_of_scope = None
    if rules.scope is not None:
        citations.append(cite(rules.code, rules.scope))
        if not facts.urgency.flags() & set(rules.scope.requires_any):
            answer, accepted = Tri.NO, []
            out_of_scope = f"Out of scope: {rules.scope.explanation}"
            reasons.insert(0, out_of_scope)
    return Availability(available=answer, reasons=reasons, available_against=accepted, per_state=per_state,
                        out_of_scope=out_of_scope, citations=citations)


def _state_acceptance(rules: MechanismRules, state: str, facts: ComplaintFacts, acceptances: AcceptanceDataset,
                      today: date) -> StateAcceptance:
    rule = rules.acceptance
    if not rule.all_of and not rule.any_of:
        return StateAcceptance(state=state, answer=Tri.YES,
                               reasons=[f"No acceptance by {state} is needed: {rule.explanation}"], sources=[])

    def ask(key: str) -> AcceptanceAnswer:
        return acceptances.answer(key, state, events_date=facts.events_date, filing_date=today)

    required = [ask(key) for key in rule.all_of]
    alternatives = [ask(key) for key in rule.any_of]
    answer = all_of([all_of([a.answer for a in required]), any_of([a.answer for a in alternatives])])
    asked = [*required, *alternatives]
    if answer is Tri.NO:
        shown = [a for a in required if a.answer is Tri.NO] or alternatives
    elif answer is Tri.YES:
        shown = [*required, *(a for a in alternatives if a.answer is Tri.YES)]
    else:
        shown = [a for a in asked if a.answer is not Tri.YES] + [a for a in asked if a.answer is Tri.YES]
    reasons = [a.reason for a in shown]
    if answer is Tri.NO:
        reasons.append(f"Not available against {state}: {rule.explanation}")
    sources = [Citation(mechanism=rules.code, provision=f"acceptance list {a.key}", source=a.source, status=a.status)
               for a in shown]
    return StateAcceptance(state=state, answer=answer, reasons=reasons, sources=sources)


# --- standing ------------------------------------------------------------------------------------


def assess_standing(rules: MechanismRules, facts: ComplaintFacts) -> Standing:
    rule = rules.standing
    citation = cite(rules.code, rule)
    kind = facts.filer_kind
    if kind not in rule.filer_kinds:
        allowed = ", ".join(k.value for k in rule.filer_kinds)
        return Standing(outcome=StandingOutcome.NOT_MET, citation=citation,
                        reasons=[f"A filer of kind {kind.value!r} cannot file here; only: {allowed}."])
    legal_person = kind.value in ("ngo", "organisation")
    if facts.victim_is_filer and legal_person and not rule.legal_persons_can_be_victims:
        return Standing(outcome=StandingOutcome.NOT_MET, citation=citation, reasons=[(
            f"Only natural persons can be victims before {rules.short_name}; an {kind.value} can file only on "
            "behalf of individual victims, with their authority.")])
    reasons: list[str] = []
    if rule.victim_requirement == "victim_or_authorised" and not facts.victim_is_filer:
        reasons.append(f"The filer is not the victim: {rules.short_name} hears victims, so file on the victim's "
                       "behalf with a signed authority (power of attorney or consent).")
    reasons += [c.condition for c in rule.conditions if c.filer_kind is kind]
    if reasons:
        return Standing(outcome=StandingOutcome.CONDITIONAL, citation=citation, reasons=reasons)
    return Standing(outcome=StandingOutcome.MET, citation=citation, reasons=[f"A {kind.value} may file here."])


# --- exhaustion of domestic remedies -----------------------------------------------------------------


def assess_exhaustion(rules: MechanismRules, facts: ComplaintFacts) -> Exhaustion:
    rule = rules.exhaustion
    citations = [cite(rules.code, rule)]
    if not rule.required:
        reasons = ["Exhaustion of domestic remedies is not required."]
        if rule.screen:
            reasons.append(rule.screen)
        return Exhaustion(outcome=ExhaustionOutcome.NOT_REQUIRED, reasons=reasons, citations=citations)

    recognised = {exception.kind: exception for exception in rule.exceptions}
    claims = [(remedy.description, remedy.exception_claimed) for remedy in facts.domestic_remedies
              if remedy.exception_claimed is not None]
    recognised_kinds = sorted({kind for _, kind in claims if kind in recognised})
    if recognised_kinds:
        citations += [cite(rules.code, recognised[kind]) for kind in recognised_kinds]
        return Exhaustion(outcome=ExhaustionOutcome.EXCEPTION_CLAIMED, citations=citations, reasons=[(
            f"An exception to exhaustion is claimed ({', '.join(k.value for k in recognised_kinds)}). "
            f"{rules.short_name} decides whether it holds; the complaint must show why the remedy was not "
            "available or effective.")])

    reasons = [f"The exception {kind.value!r} claimed for {description!r} is not one this rule names."
               for description, kind in claims]
    if not facts.domestic_remedies:
        return Exhaustion(outcome=ExhaustionOutcome.UNKNOWN, citations=citations,
                          reasons=["No domestic remedies are listed: check what was used."])
    pending = [r.description for r in facts.domestic_remedies if not r.exhausted]
    if pending:
        return Exhaustion(outcome=ExhaustionOutcome.NOT_MET, citations=citations, reasons=[
            *reasons, f"Domestic remedies still to exhaust: {', '.join(pending)}."])
    return Exhaustion(outcome=ExhaustionOutcome.MET, citations=citations,
                      reasons=[*reasons, "The domestic remedies listed are exhausted."])


# --- time limits ---------------------------------------------------------------------------------


class NoStart(NamedTuple):
    """Why a period has no start date (yet)."""

    status: TimeLimitStatus
    explanation: str


def assess_time_limit(rules: MechanismRules, spec: LimitSpec, facts: ComplaintFacts, exhaustion: Exhaustion,
                      today: date) -> TimeLimit:
    common: dict[str, Any] = {
        "limit_id": spec.id, "kind": spec.kind, "hardness": spec.hardness, "start_event": spec.start_event,
        "time_zone": rules.time_zone, "citation": cite(rules.code, spec),
        "override_reason": spec.override_reason if spec.hardness is Hardness.SOFT else None,
        "stop_event": spec.stop.event if spec.stop else None,
        "stop_citation": cite(rules.code, spec.stop) if spec.stop else None,
        "moves_on_non_working_day": spec.non_working_day.moves if spec.non_working_day else None,
        "calendar_citation": cite(rules.code, spec.non_working_day) if spec.non_working_day else None,
    }
    if spec.kind is LimitKind.NONE:
        return TimeLimit(status=TimeLimitStatus.NO_FIXED_LIMIT, explanation=no_time_limit().explanation, **common)
    if spec.kind is LimitKind.REASONABLE_TIME:
        explanation = reasonable_time(START_EVENT_WORDS[spec.start_event]).explanation
        if spec.hardness is Hardness.SOFT:
            explanation += f" A late filing can be justified: {spec.override_reason}"
        return TimeLimit(status=TimeLimitStatus.NO_FIXED_LIMIT, explanation=explanation, **common)
    if spec.on_exhaustion_exception == "reasonable_time" and exhaustion.outcome is ExhaustionOutcome.EXCEPTION_CLAIMED:
        return TimeLimit(status=TimeLimitStatus.NO_FIXED_LIMIT, **common, explanation=(
            "An exception to exhaustion is claimed, so the fixed limit gives way to a reasonable time, judged "
            f"from the date of the violation and the circumstances ({spec.provision})."))

    start = start_date_for(spec.start_event, facts, exhaustion)
    if isinstance(start, NoStart):
        return TimeLimit(status=start.status, explanation=start.explanation, **common)

    # A transitional rule keeps an older length for periods that started before a cut-off (P15 Art 8(3)).
    rule_used: LimitSpec | Transition = next(
        (t for t in spec.transitions if start < t.applies_if_start_before), spec)
    length, unit = rule_used.length, rule_used.unit
    assert length is not None and unit is not None and spec.non_working_day is not None  # LimitSpec validates
    end = last_day_of_period(start, length, unit, time_zone=rules.time_zone,
                             moves_on_non_working_day=spec.non_working_day.moves)
    days_remaining = (end.last_day - today).days
    if days_remaining >= 0:
        status = TimeLimitStatus.OPEN
    elif spec.hardness is Hardness.HARD:
        status = TimeLimitStatus.EXPIRED
    else:
        status = TimeLimitStatus.SOFT_WARNING
    common["citation"] = cite(rules.code, rule_used)
    explanation = _limit_explanation(rules, spec, start, length, unit.value, end.last_day, end.nominal_last_day,
                                     status, rule_used.provision)
    return TimeLimit(status=status, explanation=explanation, start_date=start, length=length, unit=unit,
                     nominal_last_day=end.nominal_last_day, last_day=end.last_day, ends_at_utc=end.ends_at_utc,
                     days_remaining=days_remaining, **common)


def start_date_for(event: StartEvent, facts: ComplaintFacts, exhaustion: Exhaustion) -> date | NoStart:
    """The date a period starts from, or why there is none."""
    if event is StartEvent.END_OF_OTHER_PROCEDURE:
        ended = facts.latest_end_of_other_procedure()
        if ended is None:
            return NoStart(TimeLimitStatus.NOT_APPLICABLE,
                           "Applies only once another international procedure on the matter has ended.")
        return ended
    if exhaustion.outcome is ExhaustionOutcome.NOT_MET:
        return NoStart(TimeLimitStatus.NOT_STARTED, f"Not running yet: the period starts from "
                                                    f"{START_EVENT_WORDS[event]}, and remedies are still being used.")
    # "Exhaustion" is dated by the final decision, not its later notification: the earlier start can only
    # make a last day earlier, never too late.
    if event is StartEvent.NOTIFICATION_OF_DECISION:
        dates = [r.notification_date for r in facts.domestic_remedies if r.notification_date is not None]
        missing = "the date the final decision was notified to the victim"
    else:
        dates = [r.final_decision_date for r in facts.domestic_remedies if r.final_decision_date is not None]
        missing = "the date of the final domestic decision"
    if not dates:
        return NoStart(TimeLimitStatus.UNKNOWN,
                       f"Cannot compute the last day: {missing} is needed. Where no effective remedy exists, "
                       "bodies usually count from the act complained of or from when its effects became known: "
                       "check, and file as early as possible.")
    return max(dates)


def _limit_explanation(rules: MechanismRules, spec: LimitSpec, start: date, length: int, unit: str, last: date,
                       nominal: date, status: TimeLimitStatus, provision: str) -> str:
    moves = spec.non_working_day.moves if spec.non_working_day else False
    text = (f"{length} {unit} from {START_EVENT_WORDS[spec.start_event]} of {_day(start)} ({provision}): "
            f"last day {_day(last)}, counted in {rules.time_zone}.")
    if last != nominal:
        text += f" The period ends on {_day(nominal)}, a non-working day, so the last day moves to {_day(last)}."
    elif not moves:
        text += " A last day on a non-working day does not move."
    if spec.stop and spec.stop.event is StopEvent.DISPATCH:
        text += " The complaint must be dispatched by that day."
    elif spec.stop and spec.stop.event is StopEvent.RECEIPT:
        text += " The complaint must be received by that day."
    if status is TimeLimitStatus.EXPIRED:
        text += " This hard limit has passed."
    elif status is TimeLimitStatus.SOFT_WARNING:
        text += f" This limit has passed but is not absolute; a late filing can be justified: {spec.override_reason}"
    elif spec.hardness is Hardness.SOFT:
        text += " The limit is soft (a presumption, not a bar)."
    return text


def _day(value: date) -> str:
    return f"{value.strftime('%A')} {value.day} {value.strftime('%B %Y')}"


# --- non-duplication -----------------------------------------------------------------------------


def assess_duplication(rules: MechanismRules, facts: ComplaintFacts) -> tuple[list[DuplicationConflict], list[str]]:
    conflicts: list[DuplicationConflict] = []
    notes: list[str] = []
    for procedure in facts.other_procedures:
        found = _duplication_of(rules, procedure)
        if isinstance(found, DuplicationConflict):
            conflicts.append(found)
        else:
            notes.append(found)
    return conflicts, notes


def _duplication_of(rules: MechanismRules, procedure: OtherProcedure) -> DuplicationConflict | str:
    rule = rules.non_duplication
    other, status = procedure.mechanism, procedure.status.value

    def conflict(severity: Severity, reason: str, source: Sourced = rule) -> DuplicationConflict:
        return DuplicationConflict(other_mechanism=other, other_status=status, severity=severity, reason=reason,
                                   citation=cite(rules.code, source))

    if other == rules.code:
        return conflict("bars" if rule.blocks is not Blocks.NONE else "check",
                        f"The same matter is already {status} before {rules.short_name}: a new complaint is "
                        "inadmissible unless it brings relevant new information.")
    not_counted = {entry.mechanism: entry for entry in rule.not_counted}
    if other in not_counted:
        entry = not_counted[other]
        if entry.status is RuleStatus.UNCONFIRMED:
            return conflict("check", f"{rules.short_name} probably does not count {other} as another international "
                                     "procedure, but that is unconfirmed: check.", entry)
        return f"{other} ({status}) does not count as another procedure for {rules.short_name} ({entry.provision})."
    if not procedure.same_author:
        exception = rule.different_author_exception
        if exception is None:
            return conflict("check", f"The matter before {other} was filed by another author; whether that makes it "
                                     f"'the same matter' for {rules.short_name} is not settled in these rules: check.")
        if exception.status is RuleStatus.UNCONFIRMED:
            return conflict("check", f"A filing by another author before {other} probably does not bar "
                                     f"{rules.short_name}, but that is unconfirmed: check.", exception)
        return (f"{other} ({status}) was seized by another author, which does not bar {rules.short_name} "
                f"({exception.provision}).")
    if blocks(rule.blocks, procedure.status):
        # A bar read from an unconfirmed rule is something to check, not a reason to give up a body.
        severity: Severity = "check" if rule.status is RuleStatus.UNCONFIRMED else "bars"
        return conflict(severity, f"The same matter is {status} before {other}; {rules.short_name} does not examine "
                                  f"a matter {_blocks_words(rule.blocks)} ({rule.provision}).")
    if procedure.status is not ProcedureStatus.PENDING and rule.examined_elsewhere_note:
        return conflict("check", rule.examined_elsewhere_note)
    return (f"{other} ({status}) does not bar {rules.short_name}: its rule bars only a matter "
            f"{_blocks_words(rule.blocks)}.")


def blocks(rule: Blocks, status: ProcedureStatus) -> bool:
    if rule is Blocks.BOTH:
        return True
    if rule is Blocks.PENDING:
        return status is ProcedureStatus.PENDING
    if rule is Blocks.EXAMINED:
        return status is not ProcedureStatus.PENDING
    return False


def _blocks_words(rule: Blocks) -> str:
    return {
        Blocks.PENDING: "that is being examined by another international procedure",
        Blocks.EXAMINED: "already examined or settled by another international procedure",
        Blocks.BOTH: "that has been or is being examined by another international procedure",
        Blocks.NONE: "(it has no non-duplication bar)",
    }[rule]


def conflicts_between_candidates(findings: list[MechanismFinding], catalogue: Catalogue) -> list[CandidateConflict]:
    """For each pair of relevant candidates: would filing with one bar the other later?"""
    live = [f for f in findings if is_relevant_candidate(f)]
    found: list[CandidateConflict] = []
    for first in live:
        for later in live:
            if first.mechanism == later.mechanism:
                continue
            rule = catalogue[later.mechanism].non_duplication
            if rule.blocks is Blocks.NONE or first.mechanism in {n.mechanism for n in rule.not_counted}:
                continue
            when = TIMING[rule.blocks]
            found.append(CandidateConflict(
                file_with=first.mechanism, bars=later.mechanism, when=when,
                citation=cite(later.mechanism, rule),
                reason=(f"Filing with {first.name} would make a later complaint to {later.name} on the same matter "
                        f"inadmissible {_when_words(when)} ({rule.provision})."),
            ))
    return found


TIMING: dict[Blocks, ConflictTiming] = {Blocks.PENDING: "while_pending", Blocks.EXAMINED: "once_examined",
                                        Blocks.BOTH: "pending_or_examined"}


def _when_words(when: ConflictTiming) -> str:
    return {"while_pending": "while the first body is examining it",
            "once_examined": "once the first body has examined it",
            "pending_or_examined": "both while it is pending and after it has been examined"}[when]


# --- rights invoked ------------------------------------------------------------------------------


def match_rights(rules: MechanismRules, facts: ComplaintFacts) -> tuple[Tri, str]:
    if not rules.rights_keywords:
        return Tri.YES, f"{rules.short_name} is not limited to the rights of one instrument."
    if not facts.rights_invoked:
        return Tri.UNKNOWN, "No rights are listed: check that the complaint raises a right this body protects."
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in rules.rights_keywords) + r")\b", re.IGNORECASE)
    matched = [right for right in facts.rights_invoked if pattern.search(right)]
    if matched:
        return Tri.YES, f"Rights invoked under its instruments: {'; '.join(matched)}."
    return Tri.NO, (f"None of the rights invoked names {rules.instrument.name}; {rules.short_name} hears only "
                    "claims under its own instruments, so restate the claims under them.")


# --- verdict, interim measures, ranking, deadlines -----------------------------------------------------


def decide_verdict(availability: Availability, standing: Standing, exhaustion: Exhaustion,
                   time_limits: list[TimeLimit], conflicts: list[DuplicationConflict], rights_match: Tri,
                   rights_note: str) -> tuple[Verdict, list[str]]:
    statuses = {limit.status for limit in time_limits}
    if availability.available is Tri.NO:
        if availability.out_of_scope:
            return Verdict.UNAVAILABLE, [availability.out_of_scope]
        return Verdict.UNAVAILABLE, [r for s in availability.per_state for r in s.reasons]
    if standing.outcome is StandingOutcome.NOT_MET:
        return Verdict.UNAVAILABLE, standing.reasons
    barring = [c.reason for c in conflicts if c.severity == "bars"]
    if barring:
        return Verdict.BARRED, barring
    if TimeLimitStatus.EXPIRED in statuses:
        return Verdict.OUT_OF_TIME, [t.explanation for t in time_limits if t.status is TimeLimitStatus.EXPIRED]
    if exhaustion.outcome is ExhaustionOutcome.NOT_MET:
        return Verdict.PREMATURE, exhaustion.reasons
    checks: list[str] = []
    if availability.available is Tri.UNKNOWN:
        checks += [r for r in availability.reasons if "unknown" in r.lower()] or availability.reasons
    if exhaustion.outcome is ExhaustionOutcome.UNKNOWN:
        checks += exhaustion.reasons
    checks += [t.explanation for t in time_limits if t.status is TimeLimitStatus.UNKNOWN]
    checks += [c.reason for c in conflicts if c.severity == "check"]
    if checks:
        return Verdict.CHECK, checks
    warnings = [t.explanation for t in time_limits if t.status is TimeLimitStatus.SOFT_WARNING]
    if standing.outcome is StandingOutcome.CONDITIONAL:
        warnings += standing.reasons
    if exhaustion.outcome is ExhaustionOutcome.EXCEPTION_CLAIMED:
        warnings += exhaustion.reasons
    if rights_match is Tri.NO:
        warnings.append(rights_note)
    if warnings:
        return Verdict.CANDIDATE_WITH_WARNINGS, warnings
    return Verdict.CANDIDATE, ["Nothing in the facts given stands in the way."]


def interim_route(rules: MechanismRules, facts: ComplaintFacts, availability: Availability, standing: Standing,
                  conflicts: list[DuplicationConflict]) -> InterimMeasuresRoute | None:
    rule = rules.interim_measures
    if facts.urgency.level != "urgent" or not rule.available:
        return None
    if availability.available is Tri.NO or standing.outcome is StandingOutcome.NOT_MET:
        return None
    flags = facts.urgency.flags()
    if flags and not flags & set(rule.triggers):
        return None
    caveats: list[str] = []
    if availability.available is Tri.UNKNOWN:
        caveats.append("Whether the state accepted this procedure is unknown: check before relying on it.")
    caveats += [f"{c.reason} Interim measures normally accompany an admissible complaint." for c in conflicts
                if c.severity == "bars"]
    if rule.note:
        caveats.append(rule.note)
    assert rule.name and rule.threshold and rule.channel  # by InterimRule validation
    return InterimMeasuresRoute(mechanism=rules.code, mechanism_name=rules.name, name=rule.name,
                                threshold=rule.threshold, channel=rule.channel, binding=rule.binding,
                                caveats=caveats, citation=cite(rules.code, rule))


def interim_routes(findings: list[MechanismFinding]) -> list[InterimMeasuresRoute]:
    """Every interim-measures route open to an urgent complaint: binding ones first, then unhindered ones.

    A body none of whose instruments the complaint invokes is left out (no CEDAW route for a man's
    removal); with no rights listed at all, every route stays.
    """
    routes = [f.interim_measures for f in findings if f.interim_measures is not None and f.rights_match is not Tri.NO]
    return sorted(routes, key=lambda r: (not r.binding, bool(r.caveats), r.mechanism))


def is_relevant_candidate(finding: MechanismFinding) -> bool:
    """Still a candidate, and the complaint invokes (or may invoke) rights it protects.

    Candidate conflicts and filing deadlines are worked out for these only: a deadline before a body
    whose instruments the complaint does not invoke would only be noise for the people who must act.
    """
    return finding.verdict not in EXCLUDED_VERDICTS and finding.rights_match is not Tri.NO


def recommend(findings: list[MechanismFinding]) -> list[Recommendation]:
    """Candidates ranked: clear and binding first, then with warnings, then to check, then premature."""
    live = [f for f in findings if f.verdict not in EXCLUDED_VERDICTS]

    def key(finding: MechanismFinding):
        limit = finding.time_limit
        return (VERDICT_ORDER.index(finding.verdict), not finding.binding_outcome,
                finding.rights_match is Tri.NO, limit.last_day or date.max, finding.mechanism)

    ranked = sorted(live, key=key)
    return [Recommendation(rank=index, mechanism=f.mechanism, name=f.name, verdict=f.verdict,
                           binding_outcome=f.binding_outcome, last_day=f.time_limit.last_day,
                           time_zone=f.time_limit.time_zone, explanation=explain(f))
            for index, f in enumerate(ranked, start=1)]


def explain(finding: MechanismFinding) -> str:
    """A plain-language paragraph for a person deciding where to file."""
    parts = [f"{finding.name}:"]
    availability = finding.availability
    if availability.available is Tri.YES:
        parts.append(f"it can hear complaints against {', '.join(availability.available_against)}.")
    else:
        parts.append("whether it can hear this complaint is unknown; check the state's acceptance.")
    parts.append({
        ExhaustionOutcome.MET: "Domestic remedies are exhausted.",
        ExhaustionOutcome.NOT_REQUIRED: "Domestic remedies need not be exhausted first.",
        ExhaustionOutcome.EXCEPTION_CLAIMED: "An exception to exhaustion is claimed; the body will decide if it "
                                             "holds.",
        ExhaustionOutcome.NOT_MET: "Domestic remedies must be exhausted first.",
        ExhaustionOutcome.UNKNOWN: "Check which domestic remedies were used.",
    }[finding.exhaustion.outcome])
    limit = finding.time_limit
    if limit.status is TimeLimitStatus.OPEN and limit.last_day is not None:
        hard = "a strict limit" if limit.hardness is Hardness.HARD else "a soft limit"
        parts.append(f"File by {_day(limit.last_day)} ({limit.time_zone}), {limit.days_remaining} days from now; "
                     f"{hard}.")
    else:
        parts.append(limit.explanation)
    if finding.verdict in (Verdict.CANDIDATE_WITH_WARNINGS, Verdict.CHECK):
        shown = [reason for reason in finding.verdict_reasons if reason != limit.explanation]
        if shown:
            parts.append(("To check: " if finding.verdict is Verdict.CHECK else "Note: ") + " ".join(shown))
    parts.append("Its final decisions bind the state." if finding.binding_outcome
                 else "Its decisions are recommendations that do not formally bind the state.")
    return " ".join(parts)


def filing_deadlines(findings: list[MechanismFinding]) -> list[FilingDeadline]:
    """Every open filing limit of a relevant candidate, earliest first."""
    deadlines = []
    for finding in findings:
        if not is_relevant_candidate(finding):
            continue
        for limit in finding.time_limits:
            if limit.status is not TimeLimitStatus.OPEN or limit.last_day is None or limit.ends_at_utc is None:
                continue
            moves = bool(limit.moves_on_non_working_day)
            deadlines.append(FilingDeadline(
                mechanism=finding.mechanism,
                what=f"File the complaint with {finding.name} ({limit.limit_id})",
                last_day=limit.last_day,
                time_zone=limit.time_zone,
                ends_at_utc=limit.ends_at_utc,
                hard=limit.hardness is Hardness.HARD,
                moves_on_non_working_day=moves,
                calendar_rule=("a last day on a Saturday or Sunday moves to the next Monday" if moves
                               else "the last day stays even on a non-working day"),
                stop_event=limit.stop_event or StopEvent.NONE,
                citation=limit.citation,
                calendar_citation=limit.calendar_citation,
            ))
    return sorted(deadlines, key=lambda d: (d.ends_at_utc, d.mechanism))


