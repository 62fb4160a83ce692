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
from .dates import LastDay, Unit, last_day_of_period, no_time_limit, reasonable_time
from .facts import ComplaintFacts, DomesticRemedy, OtherProcedure, ProcedureStatus, RemedyNature
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
    ProtocolRightCheck,
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
    StartEvent.KNOWLEDGE_OF_DECISION: "service (or, failing service, knowledge) of the final domestic decision",
    StartEvent.EXHAUSTION: "exhaustion of domestic remedies (the final domestic decision)",
    StartEvent.END_OF_OTHER_PROCEDURE: "the end of the other international procedure",
    StartEvent.NONE: "no start event",
}

VERDICT_ORDER = list(Verdict)


def assess(facts: ComplaintFacts, *, catalogue: Catalogue, acceptances: AcceptanceDataset,
           today: date) -> Assessment:
    """Assess ``facts`` against every mechanism in ``catalogue`` as at ``today``.

    Acceptance and time limits are judged on the filing date when the facts give one (a complaint
    already filed, or to be filed on a set day), else on ``today``.
    """
    findings = [
        assess_mechanism(rules, facts, acceptances=acceptances, today=facts.filing_date or today)
        for rules in catalogue.mechanisms.values()
    ]
    return Assessment(
        rules_version=catalogue.version,
        acceptances_version=acceptances.version,
        assessed_on=today,
        findings=findings,
        recommendations=recommend(findings, rights_structured=facts.rights_structured),
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
    conflicts, duplication_notes = assess_duplication(rules, facts, acceptances, today)
    rights_match, rights_note = match_rights(rules, facts)
    protocol_rights = assess_protocol_rights(rules, facts, acceptances, today)
    verdict, verdict_reasons = decide_verdict(availability, standing, exhaustion, time_limits, conflicts,
                                              rights_match, rights_note, protocol_rights,
                                              nothing_left=_nothing_left(rules, facts, protocol_rights), today=today)
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
        protocol_rights=protocol_rights,
    )


# --- citations -----------------------------------------------------------------------------------


def cite(mechanism: str, rule: Sourced) -> Citation:
    return Citation(mechanism=mechanism, provision=rule.provision, source=rule.source, status=rule.status,
                    note=rule.note)


def _all_citations(rules: MechanismRules) -> list[Citation]:
    sections: list[Sourced | None] = [rules.instrument, rules.outcome, rules.acceptance, rules.standing, rules.scope,
                                      rules.temporal_scope, rules.exhaustion, rules.time_limit, rules.non_duplication,
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
    citations = [cite(rules.code, rules.acceptance), cite(rules.code, rules.temporal_scope)]
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
    if answer is not Tri.NO and rules.temporal_scope.applies:
        in_time, why, source = temporal_scope(rules, state, facts, acceptances)
        reasons.append(why)
        # The temporal-scope finding cites its rule, and the entry-into-force data it read.
        sources.append(cite(rules.code, rules.temporal_scope))
        if source is not None:
            sources.append(source)
        if in_time is Tri.NO:
            reasons.append(f"Not available against {state} for these events: {rules.temporal_scope.explanation}")
        answer = all_of([answer, in_time])
    return StateAcceptance(state=state, answer=answer, reasons=reasons, sources=sources)


def temporal_scope(rules: MechanismRules, state: str, facts: ComplaintFacts,
                   acceptances: AcceptanceDataset) -> tuple[Tri, str, Citation | None]:
    """Whether the events fall within the body's temporal jurisdiction over ``state``.

    Events before the instrument took effect for the state are outside it, unless they continue and
    the rule lets a continuing violation in. Unknown dates stay "unknown: check", except when the
    events precede the instrument's own entry into force, which bounds every state.
    """
    rule = rules.temporal_scope
    assert rule.applies and rule.acceptance is not None  # TemporalScopeRule validates
    entered, earliest, found = acceptances.in_force_for(rule.acceptance, state)
    source = None
    if found is not None:
        source = Citation(mechanism=rules.code, provision=f"entry into force, list {found.key}",
                          source=found.in_force_source, status=found.in_force_status)
    where = rule.provision
    events = facts.events_date
    if events is None:
        known = f" (in force for {state} from {entered.isoformat()})" if entered else ""
        return Tri.YES, (f"Check that the events happened after the instrument took effect for {state}{known}; "
                         f"no date of the events is given ({where})."), source
    if entered is not None:
        threshold, what = entered, f"its entry into force for {state} on {entered.isoformat()}"
    elif earliest is not None and events < earliest:
        threshold, what = earliest, f"the instrument's own entry into force on {earliest.isoformat()}"
    else:
        bound = f" (not before {earliest.isoformat()})" if earliest else ""
        listed = f" (list {found.key} as of {found.as_of.isoformat()})" if found is not None else ""
        if rule.status is RuleStatus.UNCONFIRMED:
            # An unconfirmed rule with no date to apply it to is a reminder, not a reason to make the
            # whole body "check" (ADR 0010: unconfirmed rules give guidance and "check", not outcomes).
            return Tri.YES, (f"Check that the events ({events.isoformat()}) are within {rules.short_name}'s temporal "
                             f"scope: the date the instrument took effect for {state}{bound} is not in the "
                             f"data{listed}, and this rule is unconfirmed ({where})."), source
        return Tri.UNKNOWN, (f"unknown: check when the instrument took effect for {state}{bound}: the events date "
                             f"from {events.isoformat()} and {rules.short_name} hears only later facts ({where})."), source
    if events >= threshold:
        return Tri.YES, (f"The events ({events.isoformat()}) are after {what}: within {rules.short_name}'s "
                         f"temporal scope ({where})."), source
    before = f"The events began on {events.isoformat()}, before {what}"
    if not facts.events_continuing or rule.continuing == "no":
        extra = (" That they continue does not help: only events that began afterwards count."
                 if facts.events_continuing else "")
        if rule.status is RuleStatus.UNCONFIRMED:
            # A bar read from an unconfirmed rule is something to check, not a reason to give up a body.
            return Tri.UNKNOWN, (f"unknown: check: {before}, which {rules.short_name} probably cannot examine "
                                 f"({where}; unconfirmed).{extra}"), source
        return Tri.NO, f"{before}: outside {rules.short_name}'s temporal scope ({where}).{extra}", source
    if rule.continuing == "extends":
        return Tri.YES, (f"{before}, but they continue: {rules.short_name} can hear the continuing violation for "
                         f"the time after that date ({where})."), source
    return Tri.UNKNOWN, (f"unknown: check: {before}; they continue, and whether {rules.short_name} hears a "
                         f"continuing violation that began earlier is not settled in these rules ({where})."), source


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
    # Only ordinary, effective remedies must be exhausted: a pending request to reopen or for
    # supervisory review does not make the complaint premature (and does not stop the clock).
    reasons += [f"{r.description!r} is marked {r.nature.value}: it need not be exhausted and does not move the "
                "start of a time limit." for r in facts.domestic_remedies if not r.counts and r.nature is not None]
    pending = [r.description for r in facts.domestic_remedies if not r.exhausted and r.counts]
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


class Start(NamedTuple):
    """Where a period starts, the final decision that keys a transition, and what a reader should know."""

    day: date
    decision: date
    notes: list[str]
    final: str = ""  # the remedy the period is counted from
    # An earlier start that applies if the remedy the period is counted from was not an ordinary,
    # effective one (the complaint does not say): (start, decision, why).
    alternative: tuple[date, date, str] | None = None


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

    start = start_date_for(rules, spec, facts, exhaustion)
    if isinstance(start, NoStart):
        return TimeLimit(status=start.status, explanation=start.explanation, **common)

    rule_used, end = _period_end(rules, spec, start.day, start.decision)
    length, unit = rule_used.length, rule_used.unit
    assert length is not None and unit is not None  # LimitSpec validates
    common["citation"] = cite(rules.code, rule_used)
    # A figure from practice, or a rule nobody has confirmed, gives guidance and never a date to
    # rely on: no governing last day, no ranking by it, no scheduled deadline (ADR 0010).
    if spec.indicative or rule_used.status is RuleStatus.UNCONFIRMED:
        return _guidance(rules, spec, start, length, unit.value, end.last_day, today, rule_used.provision, common)

    caveats = list(start.notes)
    status = _status(spec, end.last_day, today)
    start_day = start.day
    if start.alternative is not None:
        alt_day, alt_decision, why = start.alternative
        alt_rule, alt_end = _period_end(rules, spec, alt_day, alt_decision)
        alt_status = _status(spec, alt_end.last_day, today)
        if alt_status is status and status is TimeLimitStatus.OPEN and alt_end.last_day < end.last_day:
            # Both readings leave time: count and watch the earlier day, which is safe whichever is right.
            caveats.append(f"{why} If {start.final!r} was an ordinary, effective remedy, the last day is "
                           f"{_day(end.last_day)} instead: say which remedy was ordinary.")
            rule_used, end, start_day = alt_rule, alt_end, alt_day
            length, unit = alt_rule.length, alt_rule.unit
            assert length is not None and unit is not None
            common["citation"] = cite(rules.code, rule_used)
        elif alt_status is status:
            caveats.append(why)
        else:
            status = TimeLimitStatus.UNKNOWN
            caveats.append(f"{why} Counted from that earlier decision the last day was {_day(alt_end.last_day)} "
                           f"({alt_rule.provision}), which has passed; counted from {start.final!r} it is "
                           f"{_day(end.last_day)}. Check which remedy was ordinary and effective.")
    explanation = _limit_explanation(rules, spec, start_day, length, unit.value, end.last_day, end.nominal_last_day,
                                     status, rule_used.provision)
    if caveats:
        explanation += " " + " ".join(caveats)
    return TimeLimit(status=status, explanation=explanation, start_date=start_day, length=length, unit=unit,
                     nominal_last_day=end.nominal_last_day, last_day=end.last_day, ends_at_utc=end.ends_at_utc,
                     days_remaining=(end.last_day - today).days, caveats=caveats, **common)


def _period_end(rules: MechanismRules, spec: LimitSpec, start: date, decision: date) -> tuple[LimitSpec | Transition,
                                                                                             LastDay]:
    # A transitional rule keeps an older length for periods keyed before a cut-off; Protocol 15 Art 8(3)
    # keys it on the date of the final decision, whatever the day the count starts from.
    rule_used: LimitSpec | Transition = next(
        (t for t in spec.transitions
         if (decision if t.keyed_on == "final_decision" else start) < t.applies_if_start_before), spec)
    assert rule_used.length is not None and rule_used.unit is not None and spec.non_working_day is not None
    end = last_day_of_period(start, rule_used.length, rule_used.unit, time_zone=rules.time_zone,
                             moves_on_non_working_day=spec.non_working_day.moves)
    return rule_used, end


def _status(spec: LimitSpec, last_day: date, today: date) -> TimeLimitStatus:
    if last_day >= today:
        return TimeLimitStatus.OPEN
    return TimeLimitStatus.EXPIRED if spec.hardness is Hardness.HARD else TimeLimitStatus.SOFT_WARNING


def _guidance(rules: MechanismRules, spec: LimitSpec, start: Start, length: int, unit: str, day: date, today: date,
              provision: str, common: dict[str, Any]) -> TimeLimit:
    why = ("a benchmark from the body's practice, not a rule" if spec.indicative
           else "a rule whose wording has not been confirmed")
    passed = "has passed: be ready to explain the delay" if day < today else "is still ahead"
    explanation = (f"Guidance only, not a deadline: {length} {unit} from {START_EVENT_WORDS[spec.start_event]} of "
                   f"{_day(start.day)} would be {_day(day)}, which {passed}. This figure is {why} ({provision}); "
                   "no last day is set or watched from it.")
    if spec.override_reason:
        explanation += f" {spec.override_reason}"
    return TimeLimit(status=TimeLimitStatus.GUIDANCE, explanation=explanation, start_date=start.day, length=length,
                     unit=Unit(unit), guidance_day=day, caveats=list(start.notes), **common)


def start_date_for(rules: MechanismRules, spec: LimitSpec, facts: ComplaintFacts,
                   exhaustion: Exhaustion) -> Start | NoStart:
    """The date a period starts from, or why there is none."""
    event = spec.start_event
    if event is StartEvent.END_OF_OTHER_PROCEDURE:
        return _end_of_other_procedure(rules, facts)
    if exhaustion.outcome is ExhaustionOutcome.NOT_MET:
        return NoStart(TimeLimitStatus.NOT_STARTED, f"Not running yet: the period starts from "
                                                    f"{START_EVENT_WORDS[event]}, and remedies are still being used.")
    def counts(r: DomesticRemedy) -> bool:
        return r.counts or (spec.national_body is not None and r.nature is RemedyNature.NATIONAL_BODY)

    counted = [r for r in facts.domestic_remedies if counts(r) and r.key_date is not None]
    notes = [f"{r.description!r} is marked {r.nature.value} and does not move the start"
             f"{_remedies_source(spec)}." for r in facts.domestic_remedies
             if not counts(r) and r.nature is not None and r.key_date is not None]
    notes += [f"{r.description!r} is the national body of ICERD Art 14(2): the period runs from its outcome "
              f"({spec.national_body.provision})." for r in counted
              if spec.national_body is not None and r.nature is RemedyNature.NATIONAL_BODY]
    if not counted:
        missing = ("the date the final decision was notified to the victim"
                   if event is StartEvent.NOTIFICATION_OF_DECISION else "the date of the final domestic decision")
        return NoStart(TimeLimitStatus.UNKNOWN, " ".join([*notes,
                       f"Cannot compute the last day: {missing} is needed. Where no effective remedy exists, "
                       "bodies usually count from the act complained of or from when its effects became known: "
                       "check, and file as early as possible."]))
    ordered = sorted(counted, key=lambda r: r.key_date or date.min)
    final = ordered[-1]
    found = _start_from(event, final)
    if isinstance(found, NoStart):
        return found
    day, decision, note = found
    if note:
        notes.append(note)
    alternative = None
    earlier = [r for r in ordered[:-1] if (r.key_date or date.min) < (final.key_date or date.min)]
    if final.nature is None and earlier:  # an explicitly marked remedy (ordinary, national body) is taken as said
        # The complaint does not say whether the last remedy was ordinary. If it was extraordinary or
        # ineffective, the period ran from the remedy before it: never count on the later start alone.
        previous = _start_from(event, earlier[-1])
        if not isinstance(previous, NoStart):
            why = (f"The complaint does not say whether {final.description!r} was an ordinary remedy: an "
                   f"extraordinary one (reopening, retrial, supervisory review) or an ineffective one does not move "
                   f"the start{_remedies_source(spec)}, which would then be {earlier[-1].description!r} of "
                   f"{_day(previous[0])}.")
            alternative = (previous[0], previous[1], why)
    return Start(day, decision, notes, final.description, alternative)


def _start_from(event: StartEvent, remedy: DomesticRemedy) -> tuple[date, date, str | None] | NoStart:
    """(start, final decision date, note) for the remedy that closes the domestic proceedings."""
    decided = remedy.final_decision_date
    if event is StartEvent.NOTIFICATION_OF_DECISION:
        if remedy.notification_date is None:
            return NoStart(TimeLimitStatus.UNKNOWN, (
                f"Cannot compute the last day: the date the final decision ({remedy.description!r}) was notified "
                "to the victim is needed."))
        return remedy.notification_date, decided or remedy.notification_date, None
    if event is StartEvent.KNOWLEDGE_OF_DECISION:
        if remedy.notification_date is not None:
            return remedy.notification_date, decided or remedy.notification_date, (
                f"Counted from service of the decision on {_day(remedy.notification_date)}.")
        assert decided is not None  # key_date is set
        return decided, decided, ("No date of service or knowledge is given, so the period is counted from the "
                                  "decision itself, the earliest it can start; if the decision was served later, "
                                  "give that date.")
    if decided is None:
        return NoStart(TimeLimitStatus.UNKNOWN, (
            f"Cannot compute the last day: the date of the final domestic decision ({remedy.description!r}) is "
            "needed."))
    return decided, decided, None


def _remedies_source(spec: LimitSpec) -> str:
    return f" ({spec.remedies_counted.provision})" if spec.remedies_counted else ""


def _end_of_other_procedure(rules: MechanismRules, facts: ComplaintFacts) -> Start | NoStart:
    # Only "another procedure of international investigation or settlement" starts this period: the
    # body's own earlier examination and the procedures its non-duplication rule does not count
    # (special procedures, for the HRC) neither start nor extend it.
    # A not-counted entry that nobody confirmed still starts the period: the earlier start is the safe one.
    ignored = frozenset({rules.code, *(n.mechanism for n in rules.non_duplication.not_counted
                                       if n.status is not RuleStatus.UNCONFIRMED)})
    ended = facts.latest_end_of_other_procedure(ignored=ignored)
    skipped = sorted({p.mechanism for p in facts.other_procedures if p.ended_on is not None and p.mechanism in ignored})
    note = (f"Not counted: {', '.join(skipped)} (not another procedure of international investigation or "
            f"settlement for {rules.short_name}, {rules.non_duplication.provision}).") if skipped else None
    if ended is None:
        return NoStart(TimeLimitStatus.NOT_APPLICABLE, " ".join(filter(None, [
            "Applies only once another international procedure on the matter has ended.", note])))
    return Start(ended, ended, [note] if note else [])


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


def assess_duplication(rules: MechanismRules, facts: ComplaintFacts, acceptances: AcceptanceDataset,
                       today: date) -> tuple[list[DuplicationConflict], list[str]]:
    conflicts: list[DuplicationConflict] = []
    notes: list[str] = []
    for procedure in facts.other_procedures:
        found = _duplication_of(rules, procedure, facts, acceptances, today)
        if isinstance(found, DuplicationConflict):
            conflicts.append(found)
        else:
            notes.append(found)
    return conflicts, notes


def _duplication_of(rules: MechanismRules, procedure: OtherProcedure, facts: ComplaintFacts,
                    acceptances: AcceptanceDataset, today: date) -> DuplicationConflict | str:
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
    if procedure.status is not ProcedureStatus.PENDING and rule.examined_reservation:
        return _examined_under_reservation(rules, procedure, facts, acceptances, today)
    if procedure.status is not ProcedureStatus.PENDING and rule.examined_elsewhere_note:
        return conflict("check", rule.examined_elsewhere_note)
    return (f"{other} ({status}) does not bar {rules.short_name}: its rule bars only a matter "
            f"{_blocks_words(rule.blocks)}.")


def _examined_under_reservation(rules: MechanismRules, procedure: OtherProcedure, facts: ComplaintFacts,
                                acceptances: AcceptanceDataset, today: date) -> DuplicationConflict | str:
    """A matter already examined elsewhere, before a body whose treaty bars only pending matters but
    where the respondent state's reservation may widen the bar (ICCPR-OP1 Art 5(2)(a))."""
    rule = rules.non_duplication
    reservation = rule.examined_reservation
    assert reservation is not None
    other, status = procedure.mechanism, procedure.status.value
    answers = [acceptances.answer(reservation.acceptance, state, events_date=facts.events_date, filing_date=today)
               for state in facts.respondent_states]
    reasons = "; ".join(a.reason for a in answers)
    if all(a.answer is Tri.NO for a in answers):
        return (f"{other} ({status}) does not bar {rules.short_name}: its rule bars only a matter "
                f"{_blocks_words(rule.blocks)}, and no reservation widens it ({reasons}).")
    citation = Citation(mechanism=rules.code, provision=reservation.provision, source=reservation.source,
                        status=reservation.status, note=reservation.note)
    all_reserved = all(a.answer is Tri.YES for a in answers)
    # A bar read from unconfirmed data is something to check, never a reason to give up a body.
    confirmed = reservation.status is not RuleStatus.UNCONFIRMED and all(
        a.status is not RuleStatus.UNCONFIRMED for a in answers)
    if all_reserved and confirmed:
        return DuplicationConflict(other_mechanism=other, other_status=status, severity="bars", citation=citation,
                                   reason=f"The same matter was {status} before {other}: {reservation.explanation} "
                                          f"({reasons}).")
    found = Tri.YES if all_reserved else Tri.UNKNOWN
    if found is Tri.YES:
        why = (f"The same matter was {status} before {other}, and the respondent state's reservation probably bars "
               f"it: {reservation.explanation} ({reasons}). Check the reservation's wording (some cover only the "
               "European Commission or Court, or only a matter examined on the merits).")
    else:
        why = (f"The same matter was {status} before {other}. {rules.non_duplication.provision} bars only a pending "
               f"matter, but some states' reservations also bar one already examined; for this state that is "
               f"unknown: check ({reasons}).")
    return DuplicationConflict(other_mechanism=other, other_status=status, severity="check", reason=why,
                               citation=citation)


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
    matched = _instrument_rights(rules, facts)
    if matched:
        return Tri.YES, f"Rights invoked under its instruments: {'; '.join(matched)}."
    return Tri.NO, (f"None of the rights invoked names {rules.instrument.name}; {rules.short_name} hears only "
                    "claims under its own instruments, so restate the claims under them.")


def _instrument_rights(rules: MechanismRules, facts: ComplaintFacts) -> list[str]:
    """The rights invoked that name this body's instruments."""
    if not rules.rights_keywords:
        return []
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in rules.rights_keywords) + r")\b", re.IGNORECASE)
    return [right for right in facts.rights_invoked if pattern.search(right)]


def _nothing_left(rules: MechanismRules, facts: ComplaintFacts, protocol_rights: list[ProtocolRightCheck]) -> bool:
    """Every right put to this body rests on a protocol no respondent state ratified."""
    named = _instrument_rights(rules, facts)
    excluded = {p.right_invoked for p in protocol_rights if p.answer is Tri.NO}
    return bool(named) and all(right in excluded for right in named)


def assess_protocol_rights(rules: MechanismRules, facts: ComplaintFacts, acceptances: AcceptanceDataset,
                           today: date) -> list[ProtocolRightCheck]:
    """Each right invoked that exists only in an additional protocol, against the respondent states.

    Only rights that name this body's instruments are read (``rights_keywords``), so "Protocol 1" in
    a claim under another treaty is not taken for the ECHR's.
    """
    if not rules.protocol_rights:
        return []
    checks: list[ProtocolRightCheck] = []
    for right in _instrument_rights(rules, facts):
        for protocol in rules.protocol_rights:
            if not any(re.search(pattern, right, re.IGNORECASE) for pattern in protocol.patterns):
                continue
            answers = [acceptances.answer(protocol.acceptance, state, events_date=facts.events_date,
                                          filing_date=today) for state in facts.respondent_states]
            answer = any_of([a.answer for a in answers])
            reasons = [a.reason for a in answers]
            if answer is Tri.NO:
                reasons.append(f"{right!r} rests on {protocol.name}, which no respondent state has ratified: "
                               f"{rules.short_name} cannot examine it ({protocol.provision}).")
            elif answer is Tri.UNKNOWN:
                reasons.append(f"{right!r} rests on {protocol.name}: unknown: check that the respondent state "
                               f"ratified it ({protocol.provision}).")
            elif any(a.answer is not Tri.YES for a in answers):
                reasons.append(f"{right!r} can be examined only against "
                               f"{', '.join(a.state for a in answers if a.answer is Tri.YES)} ({protocol.provision}).")
            checks.append(ProtocolRightCheck(
                right_invoked=right, protocol_right=protocol.id, answer=answer, reasons=reasons,
                citation=cite(rules.code, protocol),
                sources=[Citation(mechanism=rules.code, provision=f"acceptance list {a.key}", source=a.source,
                                  status=a.status) for a in answers]))
            break
    return checks


# --- verdict, interim measures, ranking, deadlines -----------------------------------------------------


def decide_verdict(availability: Availability, standing: Standing, exhaustion: Exhaustion,
                   time_limits: list[TimeLimit], conflicts: list[DuplicationConflict], rights_match: Tri,
                   rights_note: str, protocol_rights: list[ProtocolRightCheck], *, nothing_left: bool,
                   today: date) -> tuple[Verdict, list[str]]:
    statuses = {limit.status for limit in time_limits}
    excluded = [p for p in protocol_rights if p.answer is Tri.NO]
    if availability.available is Tri.NO:
        if availability.out_of_scope:
            return Verdict.UNAVAILABLE, [availability.out_of_scope]
        return Verdict.UNAVAILABLE, [r for s in availability.per_state for r in s.reasons]
    if standing.outcome is StandingOutcome.NOT_MET:
        return Verdict.UNAVAILABLE, standing.reasons
    if nothing_left:
        # Every right the complaint puts to this body rests on a protocol the state has not ratified:
        # there is nothing left it can examine (ratione materiae).
        return Verdict.UNAVAILABLE, [p.reasons[-1] for p in excluded]
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
    checks += [p.reasons[-1] for p in protocol_rights if p.answer is Tri.UNKNOWN]
    if checks:
        return Verdict.CHECK, checks
    warnings = [t.explanation for t in time_limits if t.status is TimeLimitStatus.SOFT_WARNING]
    # A passed benchmark is worth a warning (explain the delay), never a bar.
    warnings += [t.explanation for t in time_limits if t.status is TimeLimitStatus.GUIDANCE
                 and t.guidance_day is not None and t.guidance_day < today]
    warnings += [p.reasons[-1] for p in excluded]
    warnings += [p.reasons[-1] for p in protocol_rights
                 if p.answer is Tri.YES and p.reasons[-1].startswith(repr(p.right_invoked))]
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


def recommend(findings: list[MechanismFinding], *, rights_structured: bool = False) -> list[Recommendation]:
    """Candidates ranked: clear and binding first, then with warnings, then to check, then premature.

    With free-text rights a body whose instruments no right seems to name stays in (last of its
    rank): the words may simply not have been recognised. With structured rights (instrument and
    article) that is known, so such a body is left out; its finding still says how to restate.
    """
    live = [f for f in findings if f.verdict not in EXCLUDED_VERDICTS
            and not (rights_structured and f.rights_match is Tri.NO)]

    def key(finding: MechanismFinding) -> tuple[int, bool, bool, date, str]:
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
        # Unknown from the acceptance lists or from temporal scope: the "To check" part says which.
        parts.append("whether it can hear this complaint is unknown; check the state's acceptance and, for "
                     "the date of the events, when it took effect.")
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
        parts += limit.caveats
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
            # Belt and braces: a limit read from an unconfirmed rule is guidance (assess_time_limit),
            # and must never become a watched deadline someone relies on.
            if limit.citation.status is RuleStatus.UNCONFIRMED:
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


