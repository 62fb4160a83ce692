"""The assessment engine against the shipped rules: what must hold, and why."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from comitas_intake.admissibility import (
    Assessment,
    Catalogue,
    ComplaintFacts,
    DomesticRemedy,
    ExhaustionOutcome,
    OtherProcedure,
    RuleStatus,
    StandingOutcome,
    TimeLimitStatus,
    Tri,
    Urgency,
    Verdict,
)

MakeFacts = Callable[..., ComplaintFacts]


def decided(on: date, notified: date | None = None) -> list[DomesticRemedy]:
    return [DomesticRemedy(description="highest court", exhausted=True, final_decision_date=on,
                           notification_date=notified)]


# --- 1. time limits: ECtHR transition, month ends, IACHR notification ---------------------------------------


def test_ecthr_final_decision_before_february_2022_keeps_six_months(run, make_facts: MakeFacts) -> None:
    finding = run(make_facts(domestic_remedies=decided(date(2022, 1, 31))), date(2022, 3, 1)).finding("echr")
    limit = finding.time_limits[0]
    assert (limit.length, limit.unit.value) == (6, "months")
    # 31 July 2022 is a Sunday; the Court does not move a last day off a non-working day (Sabri Gunes [GC]).
    assert limit.nominal_last_day == limit.last_day == date(2022, 7, 31)
    assert limit.moves_on_non_working_day is False
    assert limit.time_zone == "Europe/Paris"
    assert "Protocol 15 Art 8(3)" in limit.citation.provision
    assert limit.calendar_citation is not None and "Sabri Gunes" in limit.calendar_citation.provision
    assert limit.calendar_citation.status is RuleStatus.CONFIRMED
    assert limit.status is TimeLimitStatus.OPEN and limit.hardness.value == "hard"


def test_ecthr_final_decision_from_february_2022_gets_four_months_to_a_leap_day(run, make_facts: MakeFacts) -> None:
    finding = run(make_facts(domestic_remedies=decided(date(2023, 10, 31))), date(2024, 1, 15)).finding("echr")
    limit = finding.time_limits[0]
    assert (limit.length, limit.unit.value) == (4, "months")
    assert limit.last_day == date(2024, 2, 29)
    assert limit.ends_at_utc == datetime(2024, 2, 29, 22, 59, 59, 999_000, tzinfo=UTC)
    assert limit.days_remaining == 45
    assert limit.stop_event.value == "dispatch"
    assert limit.citation.provision == "ECHR Art 35 para 1 as amended by Protocol 15 Art 4"


def test_ecthr_transition_boundary_is_1_february_2022(run, make_facts: MakeFacts) -> None:
    finding = run(make_facts(domestic_remedies=decided(date(2022, 2, 1))), date(2022, 3, 1)).finding("echr")
    assert finding.time_limits[0].last_day == date(2022, 6, 1)


def test_iachr_counts_from_notification_not_from_the_decision(run, make_facts: MakeFacts) -> None:
    complaint = make_facts(respondent_states=["AR"], rights_invoked=["ACHR art 5"],
                           domestic_remedies=decided(date(2023, 10, 31), notified=date(2023, 11, 6)))
    limit = run(complaint, date(2024, 1, 15)).finding("iachr").time_limits[0]
    assert limit.start_event.value == "notification_of_decision"
    assert limit.start_date == date(2023, 11, 6)
    assert limit.last_day == date(2024, 5, 6)  # not 30 April 2024, six months from the decision itself
    assert limit.time_zone == "America/New_York"


def test_iachr_without_a_notification_date_is_unknown_not_guessed(run, make_facts: MakeFacts) -> None:
    complaint = make_facts(respondent_states=["AR"], domestic_remedies=decided(date(2023, 10, 31)))
    finding = run(complaint, date(2024, 1, 15)).finding("iachr")
    assert finding.time_limits[0].status is TimeLimitStatus.UNKNOWN
    assert "notified" in finding.time_limits[0].explanation
    assert finding.verdict is Verdict.CHECK


def test_iachr_exception_to_exhaustion_turns_the_limit_into_a_reasonable_time(run, make_facts: MakeFacts) -> None:
    remedies = [DomesticRemedy(description="criminal complaint", exhausted=False,
                               exception_claimed="unduly_prolonged")]
    finding = run(make_facts(respondent_states=["AR"], domestic_remedies=remedies), date(2024, 1, 15)).finding("iachr")
    assert finding.exhaustion.outcome is ExhaustionOutcome.EXCEPTION_CLAIMED
    assert finding.time_limits[0].status is TimeLimitStatus.NO_FIXED_LIMIT
    assert finding.time_limits[0].last_day is None
    assert "reasonable time" in finding.time_limits[0].explanation


def test_a_passed_hard_limit_excludes_the_mechanism(run, make_facts: MakeFacts) -> None:
    # Corrected (issue 8, class 1): the decision of 31 October 2023 was served on 6 November 2023, so the
    # four months end on 6 March 2024 (Worm v. Austria para 33), not on 29 February: 1 March was in time.
    assert run(make_facts(), date(2024, 3, 6)).finding("echr").verdict is Verdict.CANDIDATE
    assessment = run(make_facts(), date(2024, 3, 7))
    finding = assessment.finding("echr")
    assert finding.time_limits[0].status is TimeLimitStatus.EXPIRED
    assert finding.verdict is Verdict.OUT_OF_TIME
    assert "echr" not in {r.mechanism for r in assessment.recommendations}
    assert "echr" not in {d.mechanism for d in assessment.deadlines}


def test_a_passed_soft_limit_is_a_warning_with_the_override_reason(run, make_facts: MakeFacts) -> None:
    complaint = make_facts(domestic_remedies=decided(date(2018, 1, 10)))
    assessment = run(complaint, date(2024, 1, 15))
    limit = assessment.finding("ccpr").time_limits[0]
    assert limit.status is TimeLimitStatus.SOFT_WARNING
    assert limit.last_day == date(2023, 1, 10)
    assert limit.override_reason and "justified" in limit.override_reason
    assert assessment.finding("ccpr").verdict is Verdict.CANDIDATE_WITH_WARNINGS
    assert "ccpr" in {r.mechanism for r in assessment.recommendations}


def test_hrc_three_years_after_another_procedure_ended(run, make_facts: MakeFacts) -> None:
    # Examined by the ECtHR (same author), ended 2019: the HRC is not barred (OP1 bars only pending
    # matters) but the 3-year abuse presumption has passed, and reservations need checking.
    complaint = make_facts(domestic_remedies=decided(date(2018, 6, 1)),
                           other_procedures=[OtherProcedure(mechanism="echr", status="decided",
                                                            ended_on=date(2019, 3, 5))])
    finding = run(complaint, date(2023, 1, 1)).finding("ccpr")
    later = {t.limit_id: t for t in finding.time_limits}["abuse_presumption_after_other_procedure"]
    assert later.last_day == date(2022, 3, 5)
    assert later.status is TimeLimitStatus.SOFT_WARNING
    assert [c.severity for c in finding.duplication_conflicts] == ["check"]
    assert "reservation" in finding.duplication_conflicts[0].reason
    assert finding.verdict is Verdict.CHECK


def test_remedies_still_running_make_the_complaint_premature(run, make_facts: MakeFacts) -> None:
    remedies = [DomesticRemedy(description="appeal", exhausted=True, final_decision_date=date(2023, 5, 1)),
                DomesticRemedy(description="cassation", exhausted=False)]
    finding = run(make_facts(domestic_remedies=remedies), date(2024, 1, 15)).finding("echr")
    assert finding.exhaustion.outcome is ExhaustionOutcome.NOT_MET
    assert "cassation" in finding.exhaustion.reasons[-1]
    assert finding.time_limits[0].status is TimeLimitStatus.NOT_STARTED
    assert finding.verdict is Verdict.PREMATURE


def test_an_exhausted_remedy_without_a_date_leaves_the_limit_unknown(run, make_facts: MakeFacts) -> None:
    remedies = [DomesticRemedy(description="appeal", exhausted=True)]
    finding = run(make_facts(domestic_remedies=remedies), date(2024, 1, 15)).finding("echr")
    assert finding.time_limits[0].status is TimeLimitStatus.UNKNOWN
    assert finding.verdict is Verdict.CHECK


# --- 2. acceptance by the respondent state ----------------------------------------------------------------


def test_a_state_that_has_not_accepted_makes_the_mechanism_unavailable_with_the_reason(run,
                                                                                    make_facts: MakeFacts) -> None:
    assessment = run(make_facts(respondent_states=["US"]), date(2024, 1, 15))
    echr = assessment.finding("echr")
    assert echr.availability.available is Tri.NO
    assert echr.verdict is Verdict.UNAVAILABLE
    assert any("US is not on the complete list" in reason for reason in echr.verdict_reasons)
    ccpr = assessment.finding("ccpr")
    assert ccpr.verdict is Verdict.UNAVAILABLE
    assert any("US has not accepted" in reason for reason in ccpr.verdict_reasons)
    assert {"echr", "ccpr"}.isdisjoint(r.mechanism for r in assessment.recommendations)
    # The Inter-American Commission still hears petitions against an OAS member.
    assert assessment.finding("iachr").availability.available is Tri.YES


def test_an_unknown_acceptance_says_unknown_check_and_ranks_lower(run, make_facts: MakeFacts) -> None:
    assessment = run(make_facts(respondent_states=["KE"], rights_invoked=["African Charter art 5", "CAT art 16"]),
                     date(2024, 1, 15))
    cat = assessment.finding("cat")
    assert cat.availability.available is Tri.UNKNOWN
    assert cat.verdict is Verdict.CHECK
    assert any(reason.startswith("unknown: check") for reason in cat.verdict_reasons)
    ranks = {r.mechanism: r.rank for r in assessment.recommendations}
    assert ranks["achpr"] < ranks["cat"]  # Kenya is a Charter party (complete list); CAT Art 22 is unknown


def test_a_withdrawn_declaration_depends_on_the_filing_date(run, make_facts: MakeFacts) -> None:
    complaint = make_facts(respondent_states=["TZ"], rights_invoked=["African Charter art 7"])
    before = run(complaint, date(2020, 11, 21)).finding("afchpr")
    after = run(complaint, date(2020, 11, 22)).finding("afchpr")
    assert before.availability.available is Tri.YES
    assert after.availability.available is Tri.NO and after.verdict is Verdict.UNAVAILABLE


def test_several_respondent_states(run, make_facts: MakeFacts) -> None:
    finding = run(make_facts(respondent_states=["FR", "US"]), date(2024, 1, 15)).finding("echr")
    assert finding.availability.available is Tri.YES
    assert finding.availability.available_against == ["FR"]
    assert any("Available only against FR" in reason for reason in finding.availability.reasons)


def test_an_out_of_scope_body_is_unavailable(run, make_facts: MakeFacts) -> None:
    assessment = run(make_facts(), date(2024, 1, 15))
    assert assessment.finding("wgad").verdict is Verdict.UNAVAILABLE
    assert assessment.finding("wgad").verdict_reasons[0].startswith("Out of scope")
    detained = run(make_facts(urgency=Urgency(detention=True)), date(2024, 1, 15))
    assert detained.finding("wgad").verdict is Verdict.CANDIDATE


# --- standing ---------------------------------------------------------------------------------------------


def test_standing_follows_the_filer(run, make_facts: MakeFacts) -> None:
    individual = run(make_facts(), date(2024, 1, 15))
    assert individual.finding("ecsr").standing.outcome is StandingOutcome.NOT_MET
    ngo_for_victim = run(make_facts(filer_kind="ngo", victim_is_filer=False), date(2024, 1, 15))
    assert ngo_for_victim.finding("ccpr").standing.outcome is StandingOutcome.CONDITIONAL
    assert ngo_for_victim.finding("iachr").standing.outcome is StandingOutcome.CONDITIONAL  # legal recognition
    ngo_as_victim = run(make_facts(filer_kind="ngo", victim_is_filer=True), date(2024, 1, 15))
    assert ngo_as_victim.finding("ccpr").standing.outcome is StandingOutcome.NOT_MET
    assert ngo_as_victim.finding("echr").standing.outcome is StandingOutcome.MET


# --- 3. non-duplication -------------------------------------------------------------------------------------


def test_a_complaint_pending_before_the_hrc_bars_cat_and_the_ecthr_each_by_its_rule(run,
                                                                                    make_facts: MakeFacts) -> None:
    complaint = make_facts(other_procedures=[OtherProcedure(mechanism="ccpr", status="pending")])
    assessment = run(complaint, date(2024, 1, 15))

    cat = assessment.finding("cat")
    assert cat.verdict is Verdict.BARRED
    [cat_conflict] = cat.duplication_conflicts
    assert (cat_conflict.other_mechanism, cat_conflict.severity) == ("ccpr", "bars")
    assert cat_conflict.citation.mechanism == "cat"
    assert cat_conflict.citation.provision.startswith("CAT Art 22(5)(a)")
    assert cat_conflict.citation.status is RuleStatus.CONFIRMED

    echr = assessment.finding("echr")
    assert echr.verdict is Verdict.BARRED
    [echr_conflict] = echr.duplication_conflicts
    assert echr_conflict.severity == "bars"
    assert echr_conflict.citation.provision == "ECHR Art 35 para 2(b)"
    assert {"cat", "echr"}.isdisjoint(r.mechanism for r in assessment.recommendations)


def test_the_same_matter_filed_by_another_author_does_not_bar_the_ecthr(run, make_facts: MakeFacts) -> None:
    complaint = make_facts(other_procedures=[OtherProcedure(mechanism="ccpr", status="pending", same_author=False)])
    finding = run(complaint, date(2024, 1, 15)).finding("echr")
    assert finding.duplication_conflicts == []
    assert "another author" in finding.duplication_notes[0]
    assert finding.verdict is Verdict.CANDIDATE


@pytest.mark.parametrize(
    ("state", "mechanisms"),
    [("FR", ["echr"]), ("AR", ["iachr"]), ("BF", ["achpr", "afchpr"])],
)
@pytest.mark.parametrize("status", ["pending", "decided"])
def test_a_special_procedures_communication_does_not_bar_the_regional_bodies(
    run, make_facts: MakeFacts, state: str, mechanisms: list[str], status: str,
) -> None:
    complaint = make_facts(respondent_states=[state], rights_invoked=["ECHR art 3", "ACHR art 5",
                                                                     "African Charter art 5"],
                           other_procedures=[OtherProcedure(mechanism="sp", status=status)])
    assessment = run(complaint, date(2024, 1, 15))
    for mechanism in mechanisms:
        finding = assessment.finding(mechanism)
        assert all(c.severity != "bars" for c in finding.duplication_conflicts), mechanism
        assert finding.verdict is not Verdict.BARRED, mechanism
    if state in ("FR", "AR"):  # the ECtHR and IACHR rules say so with a source: no conflict at all
        assert assessment.finding(mechanisms[0]).duplication_conflicts == []
        assert "does not count" in assessment.finding(mechanisms[0]).duplication_notes[0]


def test_filing_with_one_candidate_bars_another_later(run, make_facts: MakeFacts) -> None:
    assessment = run(make_facts(), date(2024, 1, 15))
    pairs = {(c.file_with, c.bars): c for c in assessment.candidate_conflicts}
    hrc_then_echr = pairs[("ccpr", "echr")]
    assert hrc_then_echr.when == "pending_or_examined"
    assert hrc_then_echr.citation.provision == "ECHR Art 35 para 2(b)"
    assert pairs[("ccpr", "cat")].citation.provision.startswith("CAT Art 22(5)(a)")
    assert pairs[("echr", "ccpr")].when == "while_pending"  # OP1 Art 5(2)(a) bars only pending matters
    assert ("sp", "echr") not in pairs  # special procedures do not count for the ECtHR
    assert not any(c.bars == "sp" for c in assessment.candidate_conflicts)  # nothing bars special procedures


# --- 4. urgency and interim measures -------------------------------------------------------------------------


def test_an_urgent_removal_lists_the_interim_measures_routes(run, make_facts: MakeFacts) -> None:
    urgent = Urgency(level="urgent", imminent_removal=True)
    assessment = run(make_facts(urgency=urgent), date(2024, 1, 15))
    routes = {route.mechanism: route for route in assessment.interim_measures}
    assert {"echr", "ccpr", "cat", "sp"} <= set(routes)
    assert "ced_ua" not in routes  # urgent action is for disappearances
    assert assessment.interim_measures[0].mechanism == "echr"  # binding first
    assert routes["echr"].binding and "Rule 39" in routes["echr"].name
    assert "never e-mail" in routes["echr"].channel
    assert routes["ccpr"].citation.provision.startswith("HRC rules")
    assert "rule 94" in routes["ccpr"].name and "rule 114" in routes["cat"].name

    # Bodies whose instruments the complaint does not invoke offer no route (no CEDAW route here).
    assert "cedaw" not in routes and assessment.finding("cedaw").interim_measures is not None

    americas = run(make_facts(respondent_states=["AR"], rights_invoked=["ACHR art 5"], urgency=urgent),
                   date(2024, 1, 15))
    assert "iachr" in {route.mechanism for route in americas.interim_measures}
    africa = run(make_facts(respondent_states=["BF"], rights_invoked=["African Charter art 5"], urgency=urgent),
                 date(2024, 1, 15))
    african_routes = {route.mechanism: route for route in africa.interim_measures}
    assert "Art 27(2)" in african_routes["afchpr"].name and african_routes["afchpr"].binding
    assert "Rule 100" in african_routes["achpr"].name
    assert african_routes["achpr"].citation.status is RuleStatus.UNCONFIRMED


def test_a_disappearance_opens_the_ced_urgent_action(run, make_facts: MakeFacts) -> None:
    urgent = Urgency(level="urgent", disappearance=True, risk_to_life=True)
    assessment = run(make_facts(urgency=urgent, rights_invoked=["ICPPED art 2"]), date(2024, 1, 15))
    routes = {route.mechanism: route for route in assessment.interim_measures}
    assert "Art 30" in routes["ced_ua"].name
    assert assessment.finding("ced_ua").verdict is Verdict.CANDIDATE


def test_no_routes_when_the_complaint_is_not_urgent(run, make_facts: MakeFacts) -> None:
    assessment = run(make_facts(urgency=Urgency(imminent_removal=True)), date(2024, 1, 15))
    assert assessment.interim_measures == []
    assert all(f.interim_measures is None for f in assessment.findings)


# --- ranking, deadlines, citations, serialisation ---------------------------------------------------------------


def test_recommendations_put_binding_in_time_candidates_first(run, make_facts: MakeFacts) -> None:
    assessment = run(make_facts(), date(2024, 1, 15))
    ranked = [r.mechanism for r in assessment.recommendations]
    assert ranked[0] == "echr"
    assert [r.rank for r in assessment.recommendations] == list(range(1, len(ranked) + 1))
    verdicts = [r.verdict for r in assessment.recommendations]
    order = list(Verdict)
    assert verdicts == sorted(verdicts, key=order.index)
    assert not {"achpr", "iachr", "ecsr", "wgad"} & set(ranked)  # unavailable ones are left out
    first = assessment.recommendations[0].explanation
    # Counted from service on 6 November 2023 (issue 8, class 1), not from the decision of 31 October.
    assert "Wednesday 6 March 2024 (Europe/Paris)" in first and "bind" in first


def test_filing_deadlines_are_ready_to_become_deadline_requests(run, make_facts: MakeFacts) -> None:
    assessment = run(make_facts(), date(2024, 1, 15))
    deadlines = {d.mechanism: d for d in assessment.deadlines}
    echr = deadlines["echr"]
    # From service of the decision (6 November 2023), not from the decision itself (issue 8, class 1).
    assert (echr.last_day, echr.time_zone, echr.hard, echr.moves_on_non_working_day) == (
        date(2024, 3, 6), "Europe/Paris", True, False)
    assert echr.ends_at_utc == datetime(2024, 3, 6, 22, 59, 59, 999_000, tzinfo=UTC)
    assert echr.stop_event.value == "dispatch"
    assert echr.citation.mechanism == "echr" and echr.calendar_citation is not None
    assert deadlines["ccpr"].hard is False  # the HRC's five-year presumption is soft
    # CESCR's one-year limit is open too, but the complaint invokes none of its rights: no deadline to watch.
    assert assessment.finding("cescr").time_limits[0].status is TimeLimitStatus.OPEN
    assert "cescr" not in deadlines
    instants = [d.ends_at_utc for d in assessment.deadlines]
    assert instants == sorted(instants)


def test_every_finding_cites_its_rules(run, make_facts: MakeFacts) -> None:
    assessment = run(make_facts(other_procedures=[OtherProcedure(mechanism="ccpr", status="pending")]),
                     date(2024, 1, 15))
    for finding in assessment.findings:
        assert finding.citations and all(c.mechanism == finding.mechanism for c in finding.citations)
        assert finding.standing.citation.provision
        assert finding.exhaustion.citations
        assert all(limit.citation.source for limit in finding.time_limits)
        assert all(conflict.citation.provision for conflict in finding.duplication_conflicts)


def test_the_assessment_serialises_to_json(run, make_facts: MakeFacts, catalogue: Catalogue) -> None:
    assessment = run(make_facts(urgency=Urgency(level="urgent", imminent_removal=True)), date(2024, 1, 15))
    data = assessment.model_dump(mode="json")
    assert data["rules_version"] == catalogue.version
    assert data["assessed_on"] == "2024-01-15"
    echr = next(f for f in data["findings"] if f["mechanism"] == "echr")
    assert echr["time_limits"][0]["last_day"] == "2024-03-06"  # from service, 6 November 2023
    assert echr["time_limits"][0]["ends_at_utc"] == "2024-03-06T22:59:59.999000Z"
    assert json.loads(json.dumps(data)) == data
    assert Assessment.model_validate(data) == assessment


def test_the_same_inputs_give_the_same_assessment(run, make_facts: MakeFacts) -> None:
    assert run(make_facts(), date(2024, 1, 15)) == run(make_facts(), date(2024, 1, 15))
