"""Issue 8: cases a practitioner would try, each derived from the source its docstring cites.

One section per class of the issue: (1) the ECtHR counts from service or knowledge, (2) extraordinary
remedies do not restart a clock, (3) protocol rights need the protocol, (4) temporal scope, (5) no
invented dates, (6) soft limits where the rules allow exceptions, (7) which procedures start the HRC's
three years, (8) data that changed and "as of" answers, (9) reservations and the American Declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from comitas_intake.admissibility import (
    AcceptanceDataset,
    Assessment,
    Catalogue,
    ComplaintFacts,
    DomesticRemedy,
    ExhaustionOutcome,
    OtherProcedure,
    RuleFileError,
    RuleStatus,
    TimeLimitStatus,
    Tri,
    Urgency,
    Verdict,
    assess,
    load_acceptances,
    load_catalogue,
)
from comitas_intake.admissibility.rules import Hardness, LimitKind

MakeFacts = Callable[..., ComplaintFacts]


def remedy(description: str, decided: date | None, served: date | None = None, *, nature: str | None = None,
           exhausted: bool = True) -> DomesticRemedy:
    return DomesticRemedy(description=description, exhausted=exhausted, final_decision_date=decided,
                          notification_date=served, nature=nature)


def limit_of(assessment: Assessment, mechanism: str, limit_id: str | None = None):
    finding = assessment.finding(mechanism)
    if limit_id is None:
        return finding.time_limits[0]
    return next(t for t in finding.time_limits if t.limit_id == limit_id)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


# --- 1. ECtHR: from service or knowledge of the final decision ---------------------------------------------


def test_ecthr_counts_from_service_so_an_application_within_four_months_of_service_is_in_time(
        run, make_facts: MakeFacts) -> None:
    """ECtHR Practical Guide on Admissibility Criteria; Worm v. Austria para 33: where domestic law provides
    for service, the period runs from service. Decided 10 March 2023, served 20 March 2023: last day
    20 July 2023, so a filing on 15 July 2023 is in time (from the decision it would have ended 10 July)."""
    facts = make_facts(domestic_remedies=[remedy("Cour de cassation", date(2023, 3, 10), date(2023, 3, 20))],
                       filing_date=date(2023, 7, 15))
    assessment = run(facts, date(2023, 7, 15))
    limit = limit_of(assessment, "echr")
    assert limit.start_event.value == "knowledge_of_decision"
    assert limit.start_date == date(2023, 3, 20)
    assert limit.last_day == date(2023, 7, 20)
    assert limit.status is TimeLimitStatus.OPEN and limit.days_remaining == 5
    assert assessment.finding("echr").verdict is Verdict.CANDIDATE
    assert "service" in limit.explanation


def test_ecthr_without_a_service_date_counts_from_the_decision_and_says_so(run, make_facts: MakeFacts) -> None:
    """Worm v. Austria para 33 (service) read with Art 35 para 1: without a date of service or knowledge the
    earliest possible start is the decision itself; counting from it can only give a last day too early,
    never too late (ADR 0010: filing early is always safe)."""
    facts = make_facts(domestic_remedies=[remedy("Cour de cassation", date(2023, 3, 10))])
    limit = limit_of(run(facts, date(2023, 4, 1)), "echr")
    assert limit.start_date == date(2023, 3, 10)
    assert limit.last_day == date(2023, 7, 10)
    assert any("earliest" in caveat for caveat in limit.caveats)


def test_protocol_15_transition_is_keyed_on_the_decision_but_counted_from_service(run, make_facts: MakeFacts) -> None:
    """Protocol 15 Art 8(3): the four months do not apply where the final decision was taken before
    1 February 2022. Decided 20 January 2022, served 10 February 2022: six months from service, last day
    10 August 2022 (keying on the service date would wrongly give four months, 10 June 2022)."""
    facts = make_facts(domestic_remedies=[remedy("Supreme Court", date(2022, 1, 20), date(2022, 2, 10))])
    limit = limit_of(run(facts, date(2022, 3, 1)), "echr")
    assert (limit.length, limit.unit.value) == (6, "months")
    assert limit.start_date == date(2022, 2, 10)
    assert limit.last_day == date(2022, 8, 10)
    assert "Protocol 15 Art 8(3)" in limit.citation.provision


@pytest.mark.parametrize(
    ("decided", "served", "months", "last_day"),
    [
        (date(2022, 2, 1), date(2022, 2, 15), 4, date(2022, 6, 15)),  # decided on the cut-off day: four months
        (date(2021, 12, 31), date(2022, 1, 5), 6, date(2022, 7, 5)),  # decided before it: six, from service
        (date(2023, 10, 31), date(2023, 10, 31), 4, date(2024, 2, 29)),  # served the same day: month end, leap day
    ],
)
def test_protocol_15_cut_off_and_month_ends_from_service(run, make_facts: MakeFacts, decided: date, served: date,
                                                         months: int, last_day: date) -> None:
    """Protocol 15 Arts 4 and 8(3); Worm v. Austria para 33; Otto v. Germany (dec.) on month ends: the
    regime follows the decision date, the count the service date, and a missing day gives the month end."""
    limit = limit_of(run(make_facts(domestic_remedies=[remedy("court", decided, served)]), date(2022, 2, 20)), "echr")
    assert (limit.length, limit.last_day) == (months, last_day)


def test_iachr_still_needs_the_notification_and_is_not_changed(run, make_facts: MakeFacts) -> None:
    """ACHR Art 46(1)(b); IACHR Rules Art 32(1): six months from notification. Unlike the ECtHR's knowledge
    rule, a missing notification date is unknown, not replaced by the decision date."""
    with_date = make_facts(respondent_states=["AR"], rights_invoked=["ACHR art 8"],
                           domestic_remedies=[remedy("Corte Suprema", date(2023, 3, 10), date(2023, 3, 20))])
    assert limit_of(run(with_date, date(2023, 4, 1)), "iachr").last_day == date(2023, 9, 20)
    without = make_facts(respondent_states=["AR"], domestic_remedies=[remedy("Corte Suprema", date(2023, 3, 10))])
    assert limit_of(run(without, date(2023, 4, 1)), "iachr").status is TimeLimitStatus.UNKNOWN


# --- 2. extraordinary and ineffective remedies --------------------------------------------------------------


def test_a_rejected_request_to_reopen_does_not_restart_the_ecthr_clock(run, make_facts: MakeFacts) -> None:
    """Berdzenishvili v. Russia (dec.); Sapeyan v. Armenia: a request to reopen proceedings does not move the
    start. Cassation served 10 January 2023 (ordinary), reopening refused 1 June 2023 (extraordinary): the
    four months ended on 10 May 2023, so on 1 July 2023 the application is out of time, not due 1 October."""
    remedies = [remedy("cassation", date(2023, 1, 5), date(2023, 1, 10), nature="ordinary"),
                remedy("request to reopen", date(2023, 6, 1), nature="extraordinary")]
    assessment = run(make_facts(domestic_remedies=remedies), date(2023, 7, 1))
    limit = limit_of(assessment, "echr")
    assert limit.start_date == date(2023, 1, 10) and limit.last_day == date(2023, 5, 10)
    assert limit.status is TimeLimitStatus.EXPIRED
    assert assessment.finding("echr").verdict is Verdict.OUT_OF_TIME
    assert any("extraordinary" in caveat and "Berdzenishvili" in caveat for caveat in limit.caveats)


def test_a_pending_supervisory_review_is_not_a_remedy_to_exhaust(run, make_facts: MakeFacts) -> None:
    """Berdzenishvili v. Russia (dec.): supervisory review is not an effective remedy, so the complaint is not
    premature while it runs, and the clock runs from the last ordinary decision."""
    remedies = [remedy("appeal", date(2023, 2, 1), date(2023, 2, 3), nature="ordinary"),
                remedy("supervisory review", None, nature="extraordinary", exhausted=False)]
    finding = run(make_facts(domestic_remedies=remedies), date(2023, 3, 1)).finding("echr")
    assert finding.exhaustion.outcome is ExhaustionOutcome.MET
    assert finding.time_limits[0].last_day == date(2023, 6, 3)
    assert finding.verdict is Verdict.CANDIDATE


def test_an_ineffective_remedy_does_not_move_the_start_of_the_hrc_presumption(run, make_facts: MakeFacts) -> None:
    """OP1 Arts 2 and 5(2)(b) (only effective remedies); HRC rules Rev.12 rule 99(c): five years from
    exhaustion. Final ordinary decision 10 January 2017; a later petition to an ineffective body decided
    2020 does not move it: the presumption ends 10 January 2022."""
    remedies = [remedy("Conseil d'Etat", date(2017, 1, 10), nature="ordinary"),
                remedy("ombudsman petition", date(2020, 5, 5), nature="ineffective")]
    limit = limit_of(run(make_facts(domestic_remedies=remedies), date(2023, 1, 1)), "ccpr",
                     "abuse_presumption_after_exhaustion")
    assert limit.last_day == date(2022, 1, 10)
    assert limit.status is TimeLimitStatus.SOFT_WARNING


def test_an_unmarked_later_remedy_is_counted_with_the_safe_day_to_watch(run, make_facts: MakeFacts) -> None:
    """Berdzenishvili v. Russia (dec.): if the last remedy was extraordinary, the period ran from the one
    before. When the complaint does not say, both readings are open on 1 April 2023; the day watched is the
    earlier one (20 June 2023), and the explanation gives the later one (1 August 2023)."""
    remedies = [remedy("appeal", date(2023, 2, 20)), remedy("further petition", date(2023, 4, 1))]
    assessment = run(make_facts(domestic_remedies=remedies), date(2023, 4, 1))
    limit = limit_of(assessment, "echr")
    assert limit.status is TimeLimitStatus.OPEN
    assert limit.last_day == date(2023, 6, 20)
    assert "Tuesday 1 August 2023" in limit.explanation and "ordinary" in limit.explanation
    assert {d.mechanism: d.last_day for d in assessment.deadlines}["echr"] == date(2023, 6, 20)


def test_an_unmarked_later_remedy_that_decides_timeliness_is_a_check_not_a_deadline(run,
                                                                                   make_facts: MakeFacts) -> None:
    """Berdzenishvili v. Russia (dec.); Sapeyan v. Armenia: on 1 September 2023 the application is out of
    time if the 1 June 2023 petition was extraordinary (from 10 January: 10 May) and in time if it was
    ordinary (1 October). Neither answer is given as fact: check, and no deadline is scheduled."""
    remedies = [remedy("cassation", date(2023, 1, 10)), remedy("petition", date(2023, 6, 1))]
    assessment = run(make_facts(domestic_remedies=remedies), date(2023, 9, 1))
    limit = limit_of(assessment, "echr")
    assert limit.status is TimeLimitStatus.UNKNOWN
    assert assessment.finding("echr").verdict is Verdict.CHECK
    assert "echr" not in {d.mechanism for d in assessment.deadlines}
    marked = [remedy("cassation", date(2023, 1, 10)), remedy("petition", date(2023, 6, 1), nature="ordinary")]
    assert limit_of(run(make_facts(domestic_remedies=marked), date(2023, 9, 1)), "echr").last_day == date(2023, 10, 1)


# --- 3. rights that exist only in a protocol ---------------------------------------------------------------


def test_a_property_claim_against_switzerland_cannot_go_to_strasbourg(run, make_facts: MakeFacts) -> None:
    """Protocol No. 1 (ETS 9) Art 1; domain-facts.md 6.3 ("The Court checks ratification of each Protocol"):
    Switzerland has not ratified Protocol 1, so a complaint resting only on P1-1 is unavailable."""
    finding = run(make_facts(respondent_states=["CH"], rights_invoked=["ECHR P1-1 property"]),
                  date(2024, 1, 15)).finding("echr")
    assert finding.verdict is Verdict.UNAVAILABLE
    [check] = finding.protocol_rights
    assert (check.protocol_right, check.answer) == ("p1", Tri.NO)
    assert "Protocol No. 1" in finding.verdict_reasons[0]
    assert check.citation.provision.startswith("Protocol No. 1")


def test_a_protocol_claim_beside_a_convention_claim_is_a_warning(run, make_facts: MakeFacts) -> None:
    """ECHR Art 34 with Protocol No. 1: against Switzerland the Art 6 claim can be heard, the P1-1 claim
    cannot; the body stays a candidate with that warning."""
    finding = run(make_facts(respondent_states=["CH"], rights_invoked=["ECHR art 6", "ECHR Protocol 1 art 1"],
                             domestic_remedies=[remedy("Federal Supreme Court", date(2023, 12, 1))]),
                  date(2024, 1, 15)).finding("echr")
    assert finding.verdict is Verdict.CANDIDATE_WITH_WARNINGS
    assert any("cannot examine" in reason for reason in finding.verdict_reasons)


@pytest.mark.parametrize(
    ("state", "right", "protocol", "answer"),
    [
        ("FR", "ECHR P1-1", "p1", Tri.YES),
        ("GB", "ECHR Protocol No. 4 art 2", "p4", Tri.NO),
        ("DE", "ECHR P7-4 ne bis in idem", "p7", Tri.NO),
        ("GB", "ECHR art 1 of Protocol No. 12", "p12", Tri.NO),
        ("ES", "ECHR art 1 of Protocol No. 12", "p12", Tri.YES),
        ("AM", "ECHR P13-1", "p13", Tri.UNKNOWN),
    ],
)
def test_each_protocol_is_checked_against_its_own_ratifications(run, make_facts: MakeFacts, state: str, right: str,
                                                                protocol: str, answer: Tri) -> None:
    """Protocols 1, 4, 7, 12, 13 (ETS 9, 46, 117, 177, 187) apply only to the states that ratified each;
    'Protocol No. 12' must not be read as Protocol 1, and a doubtful ratification is 'unknown: check'."""
    finding = run(make_facts(respondent_states=[state], rights_invoked=[right]), date(2024, 1, 15)).finding("echr")
    [check] = finding.protocol_rights
    assert (check.protocol_right, check.answer) == (protocol, answer)
    if answer is Tri.UNKNOWN:
        assert finding.verdict is Verdict.CHECK


def test_a_protocol_right_against_two_states_is_heard_against_the_one_that_ratified(run,
                                                                                  make_facts: MakeFacts) -> None:
    """Protocol No. 1 Art 1 binds France, not Switzerland: against both, the claim goes on against France."""
    finding = run(make_facts(respondent_states=["FR", "CH"], rights_invoked=["ECHR P1-1"]),
                  date(2024, 1, 15)).finding("echr")
    [check] = finding.protocol_rights
    assert check.answer is Tri.YES
    assert "only against FR" in check.reasons[-1]


def test_an_optional_protocol_right_needs_the_optional_protocol(run, make_facts: MakeFacts) -> None:
    """OP-ICESCR Art 1: the Committee hears communications only against parties to the Protocol; the
    United Kingdom is party to the Covenant but not to the Protocol."""
    finding = run(make_facts(respondent_states=["GB"], rights_invoked=["ICESCR art 11 housing"]),
                  date(2024, 1, 15)).finding("cescr")
    assert finding.availability.available is Tri.NO and finding.verdict is Verdict.UNAVAILABLE


# --- 4. temporal scope --------------------------------------------------------------------------------------


def disappeared(make_facts: MakeFacts, state: str, began: date | None, *, continuing: bool = True) -> ComplaintFacts:
    return make_facts(respondent_states=[state], rights_invoked=["ICPPED art 2"], events_date=began,
                      events_continuing=continuing, urgency=Urgency(level="urgent", disappearance=True))


def test_ced_urgent_action_only_for_disappearances_that_began_after_entry_into_force(run,
                                                                                     make_facts: MakeFacts) -> None:
    """ICPPED Art 35; CED/C/4/Rev.1: the disappearance must have begun after the Convention entered into force
    for the state (France: 23 December 2010). One that began in 2009 is out, though it continues."""
    before = run(disappeared(make_facts, "FR", date(2009, 6, 1)), date(2024, 1, 15)).finding("ced_ua")
    assert before.availability.available is Tri.NO and before.verdict is Verdict.UNAVAILABLE
    assert any("2010-12-23" in reason for reason in before.verdict_reasons)
    after = run(disappeared(make_facts, "FR", date(2011, 1, 5)), date(2024, 1, 15)).finding("ced_ua")
    assert after.availability.available is Tri.YES and after.verdict is Verdict.CANDIDATE


def test_ced_entry_into_force_bounds_every_state_even_without_its_own_date(run, make_facts: MakeFacts) -> None:
    """ICPPED Art 39(1)-(2): in force from 23 December 2010 at the earliest for any state. Brazil's own date
    is not in the data: a 2009 disappearance is out, a 2015 one is 'unknown: check'."""
    early = run(disappeared(make_facts, "BR", date(2009, 6, 1)), date(2024, 1, 15)).finding("ced_ua")
    assert early.availability.available is Tri.NO
    later = run(disappeared(make_facts, "BR", date(2015, 6, 1)), date(2024, 1, 15)).finding("ced_ua")
    assert later.availability.available is Tri.UNKNOWN and later.verdict is Verdict.CHECK


def test_ced_communications_on_an_earlier_continuing_disappearance_are_checked(run, make_facts: MakeFacts) -> None:
    """ICPPED Art 35 for Art 31 communications: whether obligations arising after entry into force can be
    examined for a disappearance that began before is not settled in these rules: check, not a bar."""
    facts = disappeared(make_facts, "FR", date(2009, 6, 1))
    finding = run(facts, date(2024, 1, 15)).finding("ced")
    assert finding.availability.available is Tri.UNKNOWN and finding.verdict is Verdict.CHECK
    ended = run(disappeared(make_facts, "FR", date(2009, 6, 1), continuing=False), date(2024, 1, 15)).finding("ced")
    assert ended.availability.available is Tri.NO


def test_hrc_ratione_temporis_with_the_continuing_violation_exception(run, make_facts: MakeFacts) -> None:
    """OP1 Art 1; S.E. v. Argentina (275/1988): events before OP1 took effect for the state (France:
    17 May 1984) are outside it, unless the violation continues after that date."""
    old = run(make_facts(events_date=date(1983, 6, 1)), date(2024, 1, 15)).finding("ccpr")
    assert old.availability.available is Tri.NO and old.verdict is Verdict.UNAVAILABLE
    continuing = run(make_facts(events_date=date(1983, 6, 1), events_continuing=True),
                     date(2024, 1, 15)).finding("ccpr")
    assert continuing.availability.available is Tri.YES
    assert any("continue" in reason for reason in continuing.availability.reasons)
    before_any = run(make_facts(respondent_states=["NZ"], events_date=date(1970, 1, 1)),
                     date(2024, 1, 15)).finding("ccpr")
    assert before_any.availability.available is Tri.NO  # before OP1 itself took effect (23 March 1976)


def test_no_events_date_is_a_reminder_not_a_bar(run, make_facts: MakeFacts) -> None:
    """ICPPED Art 35; OP1 Art 1: without a date of the events nothing can be decided; the finding says what
    to check but does not turn an otherwise clear body into 'check'."""
    finding = run(disappeared(make_facts, "FR", None), date(2024, 1, 15)).finding("ced_ua")
    assert finding.verdict is Verdict.CANDIDATE
    assert any("no date of the events" in reason for reason in finding.availability.reasons)


def test_a_filing_before_the_protocol_took_effect_for_the_state_is_not_receivable(
        acceptances: AcceptanceDataset) -> None:
    """OP1 Art 9(2): for Germany OP1 took effect on 25 November 1993, three months after its instrument."""
    before = acceptances.answer("iccpr_op1", "DE", events_date=date(1993, 1, 1), filing_date=date(1993, 6, 1))
    after = acceptances.answer("iccpr_op1", "DE", events_date=date(1993, 1, 1), filing_date=date(1994, 1, 1))
    assert before.answer is Tri.NO and "1993-11-25" in before.reason
    assert after.answer is Tri.YES


# --- 5. never invent a date ------------------------------------------------------------------------------------


def african_case(make_facts: MakeFacts, decided: date) -> ComplaintFacts:
    return make_facts(respondent_states=["KE"], rights_invoked=["African Charter art 7"],
                      domestic_remedies=[remedy("Court of Appeal", decided)])


def test_the_achpr_six_months_is_guidance_never_a_deadline(run, make_facts: MakeFacts) -> None:
    """African Charter Art 56(6): 'a reasonable period'; the six months of Majuru v Zimbabwe is a benchmark
    from practice. It is shown with its date as guidance, never governs, ranks or becomes a deadline."""
    assessment = run(african_case(make_facts, date(2023, 1, 10)), date(2023, 3, 1))
    finding = assessment.finding("achpr")
    benchmark = limit_of(assessment, "achpr", "six_month_benchmark")
    assert benchmark.status is TimeLimitStatus.GUIDANCE
    assert benchmark.last_day is None and benchmark.ends_at_utc is None
    assert benchmark.guidance_day == date(2023, 7, 10)
    assert "Guidance only" in benchmark.explanation
    assert finding.time_limit.limit_id == "communication"  # the reasonable period governs
    assert "achpr" not in {d.mechanism for d in assessment.deadlines}
    ranked = {r.mechanism: r for r in assessment.recommendations}
    assert ranked["achpr"].last_day is None


def test_a_passed_benchmark_is_a_warning_not_out_of_time(run, make_facts: MakeFacts) -> None:
    """African Charter Art 56(6): a delay beyond six months can still be reasonable; the Commission stays a
    candidate, with the delay to explain."""
    finding = run(african_case(make_facts, date(2023, 1, 10)), date(2024, 1, 15)).finding("achpr")
    assert finding.verdict is Verdict.CANDIDATE_WITH_WARNINGS
    assert any("has passed" in reason for reason in finding.verdict_reasons)


def _open_facts(make_facts: MakeFacts, state: str, decided: date) -> ComplaintFacts:
    return make_facts(respondent_states=[state], domestic_remedies=[remedy("court", decided, decided)],
                      rights_invoked=["ECHR art 3", "ICCPR art 7", "ACHR art 5", "African Charter art 5",
                                      "CERD racial discrimination", "ICESCR art 11", "CRC art 3", "CAT art 16"],
                      other_procedures=[OtherProcedure(mechanism="echr", status="decided", ended_on=decided)])


@pytest.mark.parametrize("state", ["FR", "AR", "KE", "BF", "ES", "US", "BR"])
def test_no_unconfirmed_or_indicative_rule_schedules_a_deadline_anywhere(run, make_facts: MakeFacts,
                                                                         catalogue: Catalogue, state: str) -> None:
    """ADR 0010; issue 8 acceptance 4: an unconfirmed or indicative rule gives guidance and 'check', never a
    scheduled deadline. Checked over the whole catalogue with every limit running."""
    assessment = run(_open_facts(make_facts, state, date(2024, 1, 2)), date(2024, 1, 15))
    for deadline in assessment.deadlines:
        assert deadline.citation.status is not RuleStatus.UNCONFIRMED, deadline
        rules = catalogue[deadline.mechanism]
        specs = {s.id: s for s in (rules.time_limit, *rules.time_limit.further)}
        limit = next(t for t in assessment.finding(deadline.mechanism).time_limits if t.citation == deadline.citation)
        assert not specs[limit.limit_id].indicative
    for finding in assessment.findings:
        rules = catalogue[finding.mechanism]
        for spec in (rules.time_limit, *rules.time_limit.further):
            if spec.kind is LimitKind.FIXED and (spec.indicative or spec.status is RuleStatus.UNCONFIRMED):
                shown = next(t for t in finding.time_limits if t.limit_id == spec.id)
                assert shown.status in (TimeLimitStatus.GUIDANCE, TimeLimitStatus.NOT_STARTED,
                                        TimeLimitStatus.UNKNOWN, TimeLimitStatus.NOT_APPLICABLE), spec.id
                assert shown.last_day is None, spec.id


def test_a_rule_marked_unconfirmed_stops_scheduling_and_never_rules_out(rules_dir: Path,
                                                                        acceptances: AcceptanceDataset,
                                                                        make_facts: MakeFacts) -> None:
    """ADR 0010 ('unconfirmed bars are check, not rejections'): the same ECtHR limit, marked unconfirmed in a
    copy of the rules, gives guidance instead of a deadline, and a passed day no longer excludes the Court."""
    _replace(rules_dir / "echr.toml", 'source = "eucrim.eu/news/protocol-no-15-to-echr-enters-into-force; ECtHR '
             'Practical Guide on Admissibility Criteria (time limit: starting point)"\nstatus = "confirmed"',
             'source = "eucrim.eu/news/protocol-no-15-to-echr-enters-into-force; ECtHR Practical Guide on '
             'Admissibility Criteria (time limit: starting point)"\nstatus = "unconfirmed"')
    changed = load_catalogue(rules_dir)
    open_case = assess(make_facts(), catalogue=changed, acceptances=acceptances, today=date(2024, 1, 15))
    assert limit_of(open_case, "echr").status is TimeLimitStatus.GUIDANCE
    assert "echr" not in {d.mechanism for d in open_case.deadlines}
    late = assess(make_facts(), catalogue=changed, acceptances=acceptances, today=date(2024, 6, 1))
    assert late.finding("echr").verdict is not Verdict.OUT_OF_TIME


def test_an_indicative_figure_must_be_a_fixed_one(rules_dir: Path) -> None:
    """ADR 0010: an indicative figure is a number of months from practice; a 'reasonable time' has none."""
    _replace(rules_dir / "afchpr.toml", 'kind = "reasonable_time"\n', 'kind = "reasonable_time"\nindicative = true\n')
    with pytest.raises(RuleFileError, match=r"afchpr\.toml: time_limit: .*only a fixed figure can be indicative"):
        load_catalogue(rules_dir)


# --- 6. soft limits where the rules allow exceptions -----------------------------------------------------------


def cerd_case(make_facts: MakeFacts, decided: date) -> ComplaintFacts:
    return make_facts(rights_invoked=["ICERD art 5 racial discrimination"],
                      domestic_remedies=[remedy("Cour de cassation", decided)])


def test_cerd_six_months_admits_exceptional_circumstances(run, make_facts: MakeFacts) -> None:
    """ICERD Art 14(5); CERD rules of procedure rule 91(f) ('except in the case of duly verified exceptional
    circumstances'): a communication after six months is a warning with that reason, not 'out of time'."""
    assessment = run(cerd_case(make_facts, date(2023, 1, 10)), date(2023, 9, 1))
    limit = limit_of(assessment, "cerd")
    assert limit.status is TimeLimitStatus.SOFT_WARNING and limit.hardness is Hardness.SOFT
    assert limit.override_reason and "exceptional circumstances" in limit.override_reason
    assert assessment.finding("cerd").verdict is Verdict.CANDIDATE_WITH_WARNINGS
    assert "cerd" in {r.mechanism for r in assessment.recommendations}


def test_cerd_within_six_months_is_watched_as_a_soft_deadline(run, make_facts: MakeFacts) -> None:
    """ICERD Art 14(5): six months from the final decision (10 January 2023): last day 10 July 2023, watched,
    marked soft."""
    assessment = run(cerd_case(make_facts, date(2023, 1, 10)), date(2023, 3, 1))
    deadline = {d.mechanism: d for d in assessment.deadlines}["cerd"]
    assert (deadline.last_day, deadline.hard) == (date(2023, 7, 10), False)


@pytest.mark.parametrize(
    ("mechanism", "hardness"),
    [("echr", "hard"), ("iachr", "hard"), ("cerd", "soft"), ("ccpr", "soft"), ("cescr", "soft"), ("crc", "soft")],
)
def test_every_fixed_limit_has_the_hardness_of_its_text(catalogue: Catalogue, mechanism: str, hardness: str) -> None:
    """ECHR Art 35(1) and ACHR Art 46(1)(b) admit no exception (IACHR: a reasonable time only under Art 46(2));
    ICERD rule 91(f), HRC rule 99(c), OP-ICESCR Art 3(2)(a) and OP3-CRC Art 7(h) admit a justified delay."""
    spec = catalogue[mechanism].time_limit
    assert spec.hardness.value == hardness
    assert (spec.override_reason is not None) == (hardness == "soft")


# --- 7. which procedures start the HRC's three years ----------------------------------------------------------


def test_a_special_procedures_communication_does_not_start_the_three_years(run, make_facts: MakeFacts) -> None:
    """HRC rules Rev.12 rule 99(c): three years from the end of 'another procedure of international
    investigation or settlement'; special procedures are not one (OP1 Art 5(2)(a) case law), so an
    exchange that ended in 2019 starts nothing."""
    facts = make_facts(other_procedures=[OtherProcedure(mechanism="sp", status="decided", ended_on=date(2019, 3, 5))])
    limit = limit_of(run(facts, date(2024, 1, 15)), "ccpr", "abuse_presumption_after_other_procedure")
    assert limit.status is TimeLimitStatus.NOT_APPLICABLE
    assert "Not counted: sp" in limit.explanation


def test_a_special_procedures_communication_does_not_extend_the_three_years(run, make_facts: MakeFacts) -> None:
    """HRC rules Rev.12 rule 99(c): the ECtHR decision of 5 March 2019 starts the three years (ending
    5 March 2022); a special-procedures exchange that ended in 2021 does not push that day back."""
    facts = make_facts(other_procedures=[OtherProcedure(mechanism="echr", status="decided", ended_on=date(2019, 3, 5)),
                                         OtherProcedure(mechanism="sp", status="decided", ended_on=date(2021, 6, 1))])
    limit = limit_of(run(facts, date(2023, 1, 1)), "ccpr", "abuse_presumption_after_other_procedure")
    assert limit.start_date == date(2019, 3, 5) and limit.last_day == date(2022, 3, 5)
    assert limit.status is TimeLimitStatus.SOFT_WARNING


def test_the_committees_own_earlier_examination_is_not_another_procedure(run, make_facts: MakeFacts) -> None:
    """HRC rules Rev.12 rule 99(c) speaks of 'another' procedure: the Committee's own earlier case starts
    nothing (it is dealt with by the non-duplication rule instead)."""
    facts = make_facts(other_procedures=[OtherProcedure(mechanism="ccpr", status="decided", ended_on=date(2019, 3, 5))])
    finding = run(facts, date(2023, 1, 1)).finding("ccpr")
    later = next(t for t in finding.time_limits if t.limit_id == "abuse_presumption_after_other_procedure")
    assert later.status is TimeLimitStatus.NOT_APPLICABLE
    assert finding.verdict is Verdict.BARRED


def test_an_unconfirmed_exclusion_still_starts_the_period(run, make_facts: MakeFacts) -> None:
    """ADR 0010 (when unsure, the earlier date): that the WGAD is not 'another procedure' for the HRC is
    unconfirmed here, so its end (1 February 2020) still starts the three years, to 1 February 2023."""
    facts = make_facts(other_procedures=[OtherProcedure(mechanism="wgad", status="decided",
                                                        ended_on=date(2020, 2, 1))])
    limit = limit_of(run(facts, date(2022, 1, 1)), "ccpr", "abuse_presumption_after_other_procedure")
    assert limit.last_day == date(2023, 2, 1)


# --- 8. data that changed, and answers "as of" the filing date -----------------------------------------------


@pytest.mark.parametrize(
    ("filed", "expected"),
    [(date(2025, 6, 1), Tri.YES), (date(2026, 1, 1), Tri.UNKNOWN), (date(2026, 11, 21), Tri.UNKNOWN),
     (date(2027, 1, 1), Tri.NO)],
)
def test_tunisias_2025_withdrawal_is_bounded_not_guessed(acceptances: AcceptanceDataset, filed: date,
                                                         expected: Tri) -> None:
    """Protocol Art 34(6), with the Court's twelve-month notice (Ingabire v. Rwanda): Tunisia withdrew in 2025,
    so the withdrawal takes effect some day in 2026; the exact day is not in the data, so filings in 2026 are
    'unknown: check' and none is answered with a guessed date."""
    answer = acceptances.answer("afchpr_art34_6_declaration", "TN", events_date=date(2024, 1, 1), filing_date=filed)
    assert answer.answer is expected, answer.reason
    if expected is Tri.UNKNOWN:
        assert answer.reason.startswith("unknown: check")


def test_the_art_34_6_list_is_complete_so_a_state_that_never_declared_is_a_no(run, acceptances: AcceptanceDataset,
                                                                             make_facts: MakeFacts) -> None:
    """african-court.org/afchpr/declarations: only twelve states ever made the declaration, so Kenya (a
    Protocol party that never made it) is 'no', not 'unknown'."""
    assert acceptances.lists["afchpr_art34_6_declaration"].complete
    answer = acceptances.answer("afchpr_art34_6_declaration", "KE", events_date=None, filing_date=date(2024, 1, 1))
    assert answer.answer is Tri.NO and "complete list" in answer.reason
    finding = run(make_facts(respondent_states=["KE"], rights_invoked=["African Charter art 7"]),
                  date(2024, 1, 15)).finding("afchpr")
    assert finding.verdict is Verdict.UNAVAILABLE


def test_the_engine_answers_for_the_filing_date_not_only_today(run, make_facts: MakeFacts) -> None:
    """Protocol Art 34(6) (Tanzania's withdrawal effective 22 November 2020): a complaint filed on
    21 November 2020, assessed years later, was receivable; the same complaint filed today is not."""
    facts = make_facts(respondent_states=["TZ"], rights_invoked=["African Charter art 7"],
                       filing_date=date(2020, 11, 21))
    assert run(facts, date(2026, 11, 21)).finding("afchpr").availability.available is Tri.YES
    today = make_facts(respondent_states=["TZ"], rights_invoked=["African Charter art 7"])
    assert run(today, date(2026, 11, 21)).finding("afchpr").availability.available is Tri.NO


def test_a_withdrawal_needs_its_date_or_its_bounds(acceptances_dir: Path) -> None:
    """ADR 0010 (never a guessed date): a withdrawal with neither an effective date nor bounds is refused."""
    _replace(acceptances_dir / "afchpr_art34_6_declaration.toml", "effective_earliest = 2026-01-01\n", "")
    with pytest.raises(RuleFileError, match=r"withdrawals\.4: .*effective_earliest and effective_latest"):
        load_acceptances(acceptances_dir)


def test_the_hrc_rules_are_cited_by_their_current_number(catalogue: Catalogue) -> None:
    """CCPR/C/3/Rev.12 (2021): the abuse-of-right presumption is rule 99(c) (96(c) in Rev.10) and interim
    measures rule 94 (92 in Rev.10)."""
    ccpr = catalogue["ccpr"]
    for spec in (ccpr.time_limit, *ccpr.time_limit.further):
        assert spec.provision.startswith("HRC rules of procedure CCPR/C/3/Rev.12 (2021) rule 99(c)")
    assert "rule 94 of CCPR/C/3/Rev.12" in (ccpr.interim_measures.name or "")


def test_every_acceptance_list_is_dated_and_every_withdrawal_has_its_effect(acceptances: AcceptanceDataset) -> None:
    """ADR 0010: every list carries an as-of date and sources; issue 8: every withdrawal its effective day (or
    bounds on it), and entry-into-force dates are never before the instrument's own."""
    for key, found in acceptances.lists.items():
        assert found.as_of and found.source, key
        for withdrawal in found.withdrawals:
            assert withdrawal.effective or (withdrawal.effective_earliest and withdrawal.effective_latest), key
        for day in found.in_force.values():
            assert found.instrument_in_force is None or day >= found.instrument_in_force, key


# --- 9. reservations to OP1, and the American Declaration -----------------------------------------------------


def examined_by_ecthr(make_facts: MakeFacts, state: str) -> ComplaintFacts:
    return make_facts(respondent_states=[state], rights_invoked=["ICCPR art 14"],
                      domestic_remedies=[remedy("court", date(2021, 1, 10))],
                      other_procedures=[OtherProcedure(mechanism="echr", status="decided", ended_on=date(2022, 3, 1))])


def test_a_state_with_a_reservation_makes_an_examined_matter_a_likely_bar(run, make_facts: MakeFacts) -> None:
    """OP1 Art 5(2)(a) with France's reservation (treaties.un.org Chapter IV.5): a matter the ECtHR examined
    is probably barred; the list is unconfirmed, so it is 'check' naming the reservation, not a rejection."""
    finding = run(examined_by_ecthr(make_facts, "FR"), date(2023, 1, 15)).finding("ccpr")
    [conflict] = finding.duplication_conflicts
    assert conflict.severity == "check"
    assert "reservation probably bars" in conflict.reason
    assert conflict.citation.provision == "OP1 Art 5(2)(a) with the respondent state's reservation"


def test_a_state_not_known_to_have_a_reservation_is_unknown(run, make_facts: MakeFacts) -> None:
    """OP1 Art 5(2)(a) bars only pending matters; whether Portugal made a reservation is not in the data."""
    finding = run(examined_by_ecthr(make_facts, "PT"), date(2023, 1, 15)).finding("ccpr")
    [conflict] = finding.duplication_conflicts
    assert conflict.severity == "check" and "unknown: check" in conflict.reason


def test_confirmed_reservation_data_bars_and_a_known_absence_frees(acceptances_dir: Path, catalogue: Catalogue,
                                                                   make_facts: MakeFacts) -> None:
    """OP1 Art 5(2)(a): with a reservation recorded from a confirmed source the examined matter is barred; a
    state recorded as having none is not barred (the treaty bars only pending matters)."""
    path = acceptances_dir / "iccpr_op1_examined_reservation.toml"
    _replace(path, 'status = "unconfirmed"', 'status = "partial"')
    _replace(path, 'states = [', 'not_accepted = ["PT"]\nstates = [')
    changed = load_acceptances(acceptances_dir)
    barred = assess(examined_by_ecthr(make_facts, "FR"), catalogue=catalogue, acceptances=changed,
                    today=date(2023, 1, 15)).finding("ccpr")
    assert [c.severity for c in barred.duplication_conflicts] == ["bars"] and barred.verdict is Verdict.BARRED
    free = assess(examined_by_ecthr(make_facts, "PT"), catalogue=catalogue, acceptances=changed,
                  today=date(2023, 1, 15)).finding("ccpr")
    assert free.duplication_conflicts == [] and "no reservation widens it" in free.duplication_notes[0]


def test_cerd_counts_from_the_national_body_of_article_14_2(run, make_facts: MakeFacts) -> None:
    """ICERD Art 14(5): where the petitioner went to the national body established under Art 14(2), the six
    months run from failing to obtain satisfaction there (2 May 2023 -> 2 November 2023). For the ECtHR that
    body is not a remedy that moves the start: its four months run from the court's decision."""
    remedies = [remedy("Cour de cassation", date(2023, 1, 10), nature="ordinary"),
                remedy("national body (ICERD Art 14(2))", date(2023, 5, 2), nature="national_body")]
    assessment = run(make_facts(rights_invoked=["ICERD art 5 racial discrimination", "ECHR art 14"],
                                domestic_remedies=remedies), date(2023, 6, 1))
    cerd = limit_of(assessment, "cerd")
    assert (cerd.start_date, cerd.last_day) == (date(2023, 5, 2), date(2023, 11, 2))
    assert any("Art 14(2)" in caveat for caveat in cerd.caveats)
    assert limit_of(assessment, "echr").last_day == date(2023, 5, 10)


def test_an_earlier_national_body_outcome_does_not_shorten_the_cerd_period(run, make_facts: MakeFacts) -> None:
    """ICERD Art 14(5) with Art 14(7)(a): the six months start from the later of the final court decision and
    the national body's outcome; an outcome before the court's decision does not move the start back."""
    remedies = [remedy("national body (ICERD Art 14(2))", date(2022, 11, 2), nature="national_body"),
                remedy("Cour de cassation", date(2023, 1, 10), nature="ordinary")]
    cerd = limit_of(run(make_facts(rights_invoked=["ICERD art 5"], domestic_remedies=remedies), date(2023, 2, 1)),
                    "cerd")
    assert cerd.last_day == date(2023, 7, 10)


@pytest.mark.parametrize("state", ["US", "CA"])
def test_oas_members_outside_the_convention_are_heard_under_the_declaration(run, make_facts: MakeFacts,
                                                                            state: str) -> None:
    """IACHR Rules Arts 23 and 51; ACHR Art 44: petitions lie against every OAS member; those not party to
    the American Convention are examined under the American Declaration."""
    finding = run(make_facts(respondent_states=[state], rights_invoked=["American Declaration art 1"]),
                  date(2024, 1, 15)).finding("iachr")
    assert finding.availability.available is Tri.YES
    assert any("oas_member" in s.provision for s in finding.availability.per_state[0].sources)
