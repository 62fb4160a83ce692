"""Issue 8, acceptance items 2 and 3: the reviewed rules data, and what the engine makes of it "as of" a date.

(a) every limit in the catalogue states and cites its hardness and its start event, and every mechanism its
temporal scope, each with a status ("unconfirmed" is the format's "check"); (b) every state that accepted a
procedure has its entry-into-force date or an explicit "check", and every withdrawal its effective date;
(c) the engine answers for the date of the events and the date of filing, on both sides of a date taken
from the sources; (d) a temporal-scope finding explains itself in plain language and cites its rule.

Sources: the rule files and acceptance lists cite their own; the project reference is
/work/shared/reference/domain-facts.md (section 1.1 for the mechanisms, section 8 for what is unconfirmed).
Dates that are not in that reference were not added: they are "check" (ADR 0010: never a guessed date).
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
    Citation,
    ComplaintFacts,
    MechanismFinding,
    RuleFileError,
    RuleStatus,
    Tri,
    Urgency,
    Verdict,
    load_acceptances,
    load_catalogue,
)
from comitas_intake.admissibility.acceptances import AcceptanceList
from comitas_intake.admissibility.findings import StateAcceptance
from comitas_intake.admissibility.rules import Hardness, LimitKind, StartEvent

MakeFacts = Callable[..., ComplaintFacts]
Run = Callable[[ComplaintFacts, date], Assessment]

CONFIRMED, PARTIAL, UNCONFIRMED = RuleStatus.CONFIRMED, RuleStatus.PARTIAL, RuleStatus.UNCONFIRMED


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def state_of(finding: MechanismFinding, state: str) -> StateAcceptance:
    return next(s for s in finding.availability.per_state if s.state == state)


# --- (a) hardness, start event and temporal scope of every rule, each cited --------------------------------------

# The audit's result: (mechanism, limit) -> kind, hardness, start event, status of the hardness's citation and of
# the start event's citation. Statuses follow domain-facts.md 1.1 and section 8 (see each file's source).
LIMITS = {
    ("echr", "application"): (LimitKind.FIXED, Hardness.HARD, StartEvent.KNOWLEDGE_OF_DECISION, PARTIAL, PARTIAL),
    ("iachr", "petition"): (LimitKind.FIXED, Hardness.HARD, StartEvent.NOTIFICATION_OF_DECISION, CONFIRMED, CONFIRMED),
    ("achpr", "communication"): (LimitKind.REASONABLE_TIME, Hardness.SOFT, StartEvent.EXHAUSTION, CONFIRMED, CONFIRMED),
    ("achpr", "six_month_benchmark"): (LimitKind.FIXED, Hardness.SOFT, StartEvent.EXHAUSTION, UNCONFIRMED, UNCONFIRMED),
    ("afchpr", "application"): (LimitKind.REASONABLE_TIME, Hardness.SOFT, StartEvent.EXHAUSTION, CONFIRMED, CONFIRMED),
    ("cat", "complaint"): (LimitKind.REASONABLE_TIME, Hardness.SOFT, StartEvent.EXHAUSTION, PARTIAL, PARTIAL),
    ("cerd", "communication"): (LimitKind.FIXED, Hardness.SOFT, StartEvent.EXHAUSTION, PARTIAL, CONFIRMED),
    ("cescr", "communication"): (LimitKind.FIXED, Hardness.SOFT, StartEvent.EXHAUSTION, PARTIAL, PARTIAL),
    ("crc", "communication"): (LimitKind.FIXED, Hardness.SOFT, StartEvent.EXHAUSTION, CONFIRMED, CONFIRMED),
    ("ccpr", "abuse_presumption_after_exhaustion"): (LimitKind.FIXED, Hardness.SOFT, StartEvent.EXHAUSTION, CONFIRMED,
                                                     CONFIRMED),
    ("ccpr", "abuse_presumption_after_other_procedure"): (LimitKind.FIXED, Hardness.SOFT,
                                                          StartEvent.END_OF_OTHER_PROCEDURE, CONFIRMED, CONFIRMED),
}
# Bodies with no time limit at all: the limit's own citation says so, with its status.
NO_LIMIT = {"cedaw": CONFIRMED, "crpd": CONFIRMED, "ced": CONFIRMED, "ced_ua": CONFIRMED, "sp": CONFIRMED,
            "wgad": CONFIRMED, "ecsr": UNCONFIRMED}

# mechanism -> applies, the list holding the entry-into-force dates, what a continuing violation does, status.
TEMPORAL = {
    "echr": (True, "echr_party", "check", UNCONFIRMED),
    "iachr": (False, None, None, UNCONFIRMED),
    "achpr": (True, "african_charter_party", "check", UNCONFIRMED),
    "afchpr": (True, "afchpr_art34_6_declaration", "check", UNCONFIRMED),
    "ccpr": (True, "iccpr_op1", "extends", PARTIAL),
    "cat": (True, "cat_art22", "check", UNCONFIRMED),
    "cerd": (True, "cerd_art14", "check", UNCONFIRMED),
    "cedaw": (True, "op_cedaw", "check", UNCONFIRMED),
    "cescr": (True, "op_icescr", "check", UNCONFIRMED),
    "crc": (True, "op3_crc", "check", UNCONFIRMED),
    "crpd": (True, "op_crpd", "check", UNCONFIRMED),
    "ced": (True, "icpped_party", "check", PARTIAL),
    "ced_ua": (True, "icpped_party", "no", CONFIRMED),
    "sp": (False, None, None, PARTIAL),
    "wgad": (False, None, None, PARTIAL),
    "ecsr": (True, "esc_collective_complaints", "check", UNCONFIRMED),
}


def test_every_limit_states_and_cites_its_hardness_and_start_event(catalogue: Catalogue) -> None:
    """Issue 8, acceptance 2, over the whole catalogue: every limit with a length or a 'reasonable time' states its
    hardness (never a silent default) and its start event, each with its own provision, source and status; a body
    with no limit says so in the limit's own citation (domain-facts.md 1.1, 'Time limit' and 'Start event'
    columns; caveat 2: model the start event explicitly)."""
    seen_limits, seen_none = {}, {}
    for code, rules in catalogue.mechanisms.items():
        for spec in (rules.time_limit, *rules.time_limit.further):
            assert spec.provision and spec.source and spec.status in RuleStatus, (code, spec.id)
            if spec.kind is LimitKind.NONE:
                assert (spec.start_event, spec.hardness_basis, spec.start_basis, spec.override_reason) == (
                    StartEvent.NONE, None, None, None), code
                seen_none[code] = spec.status
                continue
            assert "hardness" in spec.model_fields_set, (code, spec.id)
            assert spec.hardness_basis is not None and spec.start_basis is not None, (code, spec.id)
            for basis in (spec.hardness_basis, spec.start_basis):
                assert basis.provision.strip() and basis.source.strip(), (code, spec.id)
            # A soft limit names the reason that overrides it (domain-facts.md caveat 3: warnings with a reason).
            assert (spec.override_reason is not None) == (spec.hardness is Hardness.SOFT), (code, spec.id)
            seen_limits[(code, spec.id)] = (spec.kind, spec.hardness, spec.start_event, spec.hardness_basis.status,
                                            spec.start_basis.status)
    assert seen_limits == LIMITS
    assert seen_none == NO_LIMIT


def test_every_mechanism_states_and_cites_its_temporal_scope(catalogue: Catalogue,
                                                             acceptances: AcceptanceDataset) -> None:
    """Issue 8, class 4 and acceptance 2: every rule file states its temporal scope with a citation and a status.
    Where the reference has no text for it (all but ICPPED Art 35 for CED and the OP1 rule for the HRC), the rule
    is 'unconfirmed' and what a continuing violation does is 'check', not a guessed rule. A scope that applies
    names an acceptance list that exists and says where its dates come from."""
    seen = {}
    for code, rules in catalogue.mechanisms.items():
        rule = rules.temporal_scope
        assert rule.provision.strip() and rule.source.strip() and rule.explanation.strip(), code
        seen[code] = (rule.applies, rule.acceptance, rule.continuing, rule.status)
        if rule.status is UNCONFIRMED and rule.applies:
            assert rule.continuing == "check", code
        if rule.applies:
            assert rule.acceptance is not None
            listed = acceptances.lists[rule.acceptance]
            assert listed.in_force_source.strip() and listed.in_force_status in RuleStatus, code
    assert seen == TEMPORAL


def test_a_rule_file_that_leaves_out_a_reviewed_fact_is_refused(rules_dir: Path) -> None:
    """ADR 0010 (strict schema: a malformed file stops the service, naming file and field): a rule file without
    its temporal scope, a limit with its hardness left to the default, or a limit whose hardness is not cited,
    is refused."""
    text = (rules_dir / "sp.toml").read_text()
    start = text.index("[temporal_scope]")
    (rules_dir / "sp.toml").write_text(text[:start] + text[text.index("[exhaustion]"):])
    with pytest.raises(RuleFileError, match=r"^sp\.toml: temporal_scope: Field required$"):
        load_catalogue(rules_dir)
    (rules_dir / "sp.toml").write_text(text)

    _replace(rules_dir / "echr.toml", 'hardness = "hard"\n', "")
    with pytest.raises(RuleFileError, match=r"^echr\.toml: time_limit: Value error, a fixed limit states and cites "
                                            r"hardness$"):
        load_catalogue(rules_dir)
    _replace(rules_dir / "echr.toml", 'start_event = "knowledge_of_decision"\n',
             'start_event = "knowledge_of_decision"\nhardness = "hard"\n')

    _replace(rules_dir / "cerd.toml", "[time_limit.hardness_basis]\n", "[time_limit.hardness_note]\n")
    with pytest.raises(RuleFileError, match=r"cerd\.toml: time_limit\.hardness_note: Extra inputs are not permitted"):
        load_catalogue(rules_dir)


def test_a_temporal_scope_either_names_its_list_or_says_it_has_none(rules_dir: Path) -> None:
    """ADR 0010 (strict schema): a scope that does not apply (special procedures need no ratification,
    domain-facts.md 1.1) names no list; one that applies names its list and its continuing-violation rule."""
    _replace(rules_dir / "sp.toml", "applies = false\n", 'applies = false\nacceptance = "echr_party"\n')
    with pytest.raises(RuleFileError, match=r"sp\.toml: temporal_scope: Value error, a temporal scope that does not "
                                            r"apply names no acceptance list"):
        load_catalogue(rules_dir)
    _replace(rules_dir / "sp.toml", 'applies = false\nacceptance = "echr_party"\n', "")
    with pytest.raises(RuleFileError, match=r"sp\.toml: temporal_scope: Value error, a temporal scope that applies "
                                            r"names its acceptance list"):
        load_catalogue(rules_dir)


# --- (b) every accepting state: an effective date or "check"; every withdrawal: its effective date ----------------

# The only entry-into-force dates in the data: per state for two lists (from the treaties' own rules, OP1 Art 9 and
# ICPPED Art 39, with deposit dates marked unconfirmed), and each instrument's own date where domain-facts.md 1.1
# states it (African Court Protocol 25 Jan 2004, OP-CEDAW 22 Dec 2000, OP3-CRC 14 Apr 2014, ETS 158 1 July 1998).
DATED_STATES = {"iccpr_op1": 19, "icpped_party": 20}
INSTRUMENT_IN_FORCE = {
    "afchpr_art34_6_declaration": date(2004, 1, 25), "afchpr_protocol_party": date(2004, 1, 25),
    "op_cedaw": date(2000, 12, 22), "op3_crc": date(2014, 4, 14), "esc_collective_complaints": date(1998, 7, 1),
    "esc_art2_declaration": date(1998, 7, 1), "iccpr_op1": date(1976, 3, 23), "icpped_party": date(2010, 12, 23),
}


def _accepting(found: AcceptanceList) -> set[str]:
    return {*found.states, *(w.state for w in found.withdrawals)}


def test_every_state_that_accepted_has_its_effective_date_or_check(acceptances: AcceptanceDataset) -> None:
    """Issue 8, acceptance 2 and class 8: each state on a list, and each state that withdrew, has the date its
    acceptance took effect or is named in ``in_force_check`` ("unknown: check"), never both and never neither;
    each list says where the dates come from, how sure they are, and as of when. Only the dates the sources give
    are recorded (domain-facts.md 1.1 for the instruments' own dates)."""
    for key, found in acceptances.lists.items():
        accepting = _accepting(found)
        assert set(found.in_force) | set(found.in_force_check) == accepting, key
        assert not set(found.in_force) & set(found.in_force_check), key
        assert len(found.in_force_check) == len(set(found.in_force_check)), key
        assert found.in_force_source.strip() and found.in_force_status in RuleStatus and found.as_of, key
        for day in found.in_force.values():
            assert day >= (found.instrument_in_force or date.min), key
    assert {key: len(found.in_force) for key, found in acceptances.lists.items() if found.in_force} == DATED_STATES
    assert {key: found.instrument_in_force for key, found in acceptances.lists.items()
            if found.instrument_in_force} == INSTRUMENT_IN_FORCE
    # A list whose only date is an instrument's own date from the reference says so with that date's status.
    assert acceptances.lists["op_cedaw"].in_force_status is CONFIRMED
    assert acceptances.lists["op_cedaw"].in_force_check == acceptances.lists["op_cedaw"].states
    assert acceptances.lists["echr_party"].in_force_status is UNCONFIRMED
    assert set(acceptances.lists["echr_party"].in_force_check) == {*acceptances.lists["echr_party"].states, "RU"}


def test_every_withdrawal_carries_its_effective_date(acceptances: AcceptanceDataset) -> None:
    """Issue 8, class 8 ('record the effective dates of withdrawals'): each withdrawal has the day it takes effect,
    after its notice (ECHR Art 58, ACHR Art 78, OP1 Art 12, OAS Charter Art 143, Protocol Art 34(6) with the
    Court's twelve months), or, where the notice day is not in the sources (Tunisia, 2025), bounds on it."""
    withdrawals = {(key, w.state): w for key, found in acceptances.lists.items() for w in found.withdrawals}
    assert {(key, state): (w.effective or (w.effective_earliest, w.effective_latest))
            for (key, state), w in withdrawals.items()} == {
        ("achr_party", "TT"): date(1999, 5, 26), ("achr_party", "VE"): date(2013, 9, 10),
        ("afchpr_art34_6_declaration", "RW"): date(2017, 3, 1),
        ("afchpr_art34_6_declaration", "TZ"): date(2020, 11, 22),
        ("afchpr_art34_6_declaration", "BJ"): date(2021, 3, 25),
        ("afchpr_art34_6_declaration", "CI"): date(2021, 4, 29),
        ("afchpr_art34_6_declaration", "TN"): (date(2026, 1, 1), date(2027, 1, 1)),
        ("echr_party", "RU"): date(2022, 9, 16), ("echr_p1", "RU"): date(2022, 9, 16),
        ("echr_p4", "RU"): date(2022, 9, 16), ("echr_p7", "RU"): date(2022, 9, 16),
        ("iccpr_op1", "BY"): date(2023, 2, 8), ("oas_member", "NI"): date(2023, 11, 19),
    }
    for (key, state), withdrawal in withdrawals.items():
        if withdrawal.notice is not None and withdrawal.effective is not None:
            assert withdrawal.effective > withdrawal.notice, (key, state)
        assert withdrawal.provision and withdrawal.source and withdrawal.status in RuleStatus, (key, state)


def test_a_list_without_a_date_or_check_for_a_state_is_refused(acceptances_dir: Path) -> None:
    """ADR 0010 (strict schema) and issue 8 (never a guessed date): a state with neither its date nor an explicit
    'check', or with both, stops the loader with the file and the state named."""
    path = acceptances_dir / "esc_art2_declaration.toml"
    _replace(path, 'in_force_check = [\n  "FI",\n]\n', "in_force_check = []\n")
    with pytest.raises(RuleFileError, match=r"^esc_art2_declaration\.toml: <file>: Value error, no entry-into-force "
                                            r"date or in_force_check for FI$"):
        load_acceptances(acceptances_dir)
    _replace(path, "in_force_check = []\n", 'in_force_check = ["FI"]\n\n[in_force]\nFI = 1998-07-01\n')
    with pytest.raises(RuleFileError, match=r"^esc_art2_declaration\.toml: <file>: Value error, in_force and "
                                            r"in_force_check both name FI$"):
        load_acceptances(acceptances_dir)


# --- (c) "as of" a date -------------------------------------------------------------------------------------------


def test_russia_before_and_on_the_day_it_ceased_to_be_a_party(run: Run, make_facts: MakeFacts) -> None:
    """ECHR Art 58(2)-(3); CM/Res(2022)3 (as recorded in echr_party.toml, status unconfirmed): Russia ceased to be
    a party on 16 September 2022 and stays bound for acts before then. Events of 15 September 2022 can go to
    Strasbourg (with a reminder that the Convention's temporal scope for Russia is unconfirmed); events of
    16 September 2022 cannot."""
    before = run(make_facts(respondent_states=["RU"], events_date=date(2022, 9, 15)), date(2023, 11, 15)).finding("echr")
    assert (state_of(before, "RU").answer, before.verdict) == (Tri.YES, Verdict.CANDIDATE)
    assert state_of(before, "RU").reasons[0] == (
        "RU withdrew from parties to the European Convention on Human Rights (Council of Europe members) with effect "
        "from 2022-09-16, which bars events from that date (ECHR Art 58(2)-(3): a state that ceases to be a member of "
        "the Council of Europe ceases to be a party; it stays bound for acts before that date); these events date from "
        "2022-09-15, before it took effect")
    on_the_day = run(make_facts(respondent_states=["RU"], events_date=date(2022, 9, 16)),
                     date(2023, 11, 15)).finding("echr")
    assert (state_of(on_the_day, "RU").answer, on_the_day.verdict) == (Tri.NO, Verdict.UNAVAILABLE)
    assert on_the_day.verdict_reasons[0].endswith("these events date from 2022-09-16")


def test_belarus_filing_the_day_before_and_the_day_its_denunciation_took_effect(run: Run,
                                                                               make_facts: MakeFacts) -> None:
    """OP1 Art 12(1)-(2) (as recorded in iccpr_op1.toml: notice 8 November 2022, effect three months later on
    8 February 2023; status unconfirmed): a communication submitted before the denunciation took effect is still
    considered, one submitted on that day is not. Assessed years later (2026), the answer is given for the filing
    date. The day before is 'check', not 'yes': when OP1 took effect for Belarus is not in the data."""
    facts = make_facts(respondent_states=["BY"], events_date=date(2022, 6, 1), filing_date=date(2023, 2, 7))
    before = run(facts, date(2026, 11, 21)).finding("ccpr")
    assert (state_of(before, "BY").answer, before.verdict) == (Tri.UNKNOWN, Verdict.CHECK)
    assert state_of(before, "BY").reasons == [
        "BY withdrew from parties to the First Optional Protocol to the ICCPR with effect from 2023-02-08, which bars "
        "filings from that date (OP1 Art 12: a denunciation takes effect three months after notice; communications "
        "submitted before then are still considered); these filings date from 2023-02-07, before it took effect",
        "unknown: check when the instrument took effect for BY (not before 1976-03-23): the events date from "
        "2022-06-01 and HRC hears only later facts (OP1 Art 1 (ratione temporis); HRC case law, e.g. S.E. v. "
        "Argentina, communication 275/1988).",
    ]
    on_the_day = run(facts.model_copy(update={"filing_date": date(2023, 2, 8)}), date(2026, 11, 21)).finding("ccpr")
    assert (state_of(on_the_day, "BY").answer, on_the_day.verdict) == (Tri.NO, Verdict.UNAVAILABLE)
    assert on_the_day.verdict_reasons == [
        "BY withdrew from parties to the First Optional Protocol to the ICCPR with effect from 2023-02-08, which bars "
        "filings from that date (OP1 Art 12: a denunciation takes effect three months after notice; communications "
        "submitted before then are still considered); these filings date from 2023-02-08",
        "Not available against BY: The state must be party to the First Optional Protocol.",
    ]


@pytest.mark.parametrize(
    ("filed", "answer", "verdict"),
    [(date(2025, 12, 31), Tri.YES, Verdict.CANDIDATE), (date(2026, 1, 1), Tri.UNKNOWN, Verdict.CHECK),
     (date(2026, 12, 31), Tri.UNKNOWN, Verdict.CHECK), (date(2027, 1, 1), Tri.NO, Verdict.UNAVAILABLE)],
)
def test_tunisia_at_the_african_court_on_either_side_of_the_bounds(run: Run, make_facts: MakeFacts, filed: date,
                                                                  answer: Tri, verdict: Verdict) -> None:
    """Issue 8, class 8 ('Tunisia withdrew its Article 34(6) declaration in 2025 (effective a year after notice)')
    with Protocol Art 34(6) as read in Ingabire v. Rwanda (filings before the effect go on): a filing on
    31 December 2025 is heard; from 1 January 2026 to 31 December 2026 the answer is 'check' (the notice day is
    not in the sources); from 1 January 2027 it is not heard. Assessed on 1 June 2027 for each filing date."""
    facts = make_facts(respondent_states=["TN"], rights_invoked=["African Charter art 7"], events_date=date(2024, 3, 1),
                       filing_date=filed)
    finding = run(facts, date(2027, 6, 1)).finding("afchpr")
    assert (state_of(finding, "TN").answer, finding.verdict) == (answer, verdict)


@pytest.mark.parametrize(
    ("events", "continuing", "answer", "temporal_reason"),
    [
        (date(1984, 5, 16), False, Tri.NO,
         "The events began on 1984-05-16, before its entry into force for FR on 1984-05-17: outside HRC's temporal "
         "scope (OP1 Art 1 (ratione temporis); HRC case law, e.g. S.E. v. Argentina, communication 275/1988)."),
        (date(1984, 5, 16), True, Tri.YES,
         "The events began on 1984-05-16, before its entry into force for FR on 1984-05-17, but they continue: HRC "
         "can hear the continuing violation for the time after that date (OP1 Art 1 (ratione temporis); HRC case "
         "law, e.g. S.E. v. Argentina, communication 275/1988)."),
        (date(1984, 5, 17), False, Tri.YES,
         "The events (1984-05-17) are after its entry into force for FR on 1984-05-17: within HRC's temporal scope "
         "(OP1 Art 1 (ratione temporis); HRC case law, e.g. S.E. v. Argentina, communication 275/1988)."),
    ],
)
def test_france_and_the_optional_protocol_on_either_side_of_its_entry_into_force(
        run: Run, make_facts: MakeFacts, events: date, continuing: bool, answer: Tri, temporal_reason: str) -> None:
    """OP1 Art 9(2) (in force three months after the instrument; France acceded on 17 February 1984, so from
    17 May 1984, as recorded in iccpr_op1.toml, unconfirmed) and OP1 Art 1 ratione temporis with the continuing-
    violation exception (S.E. v. Argentina, 275/1988, as cited in ccpr.toml): events of the day before are outside,
    unless they continue; events of that day are inside."""
    finding = run(make_facts(events_date=events, events_continuing=continuing), date(2024, 1, 15)).finding("ccpr")
    assert state_of(finding, "FR").answer is answer
    assert state_of(finding, "FR").reasons[1] == temporal_reason
    assert finding.verdict is (Verdict.UNAVAILABLE if answer is Tri.NO else Verdict.CANDIDATE)


def test_a_filing_before_the_protocol_took_effect_is_answered_for_that_day(run: Run, make_facts: MakeFacts) -> None:
    """OP1 Art 9(2) (Germany acceded on 25 August 1993: in force from 25 November 1993, as recorded in
    iccpr_op1.toml, unconfirmed): a continuing violation from January 1993 filed on 24 November 1993 could not yet
    be received; filed on 25 November 1993 it is heard for the time after that date. Both assessed in 2024."""
    facts = make_facts(respondent_states=["DE"], events_date=date(1993, 1, 1), events_continuing=True,
                       filing_date=date(1993, 11, 24))
    early = run(facts, date(2024, 1, 15)).finding("ccpr")
    assert (state_of(early, "DE").answer, early.verdict) == (Tri.NO, Verdict.UNAVAILABLE)
    assert early.verdict_reasons[0] == (
        "DE is on the list, but parties to the First Optional Protocol to the ICCPR took effect for it only on "
        "1993-11-25, after the filing date 1993-11-24 (list as of 2024-06-30, status unconfirmed)")
    in_time = run(facts.model_copy(update={"filing_date": date(1993, 11, 25)}), date(2024, 1, 15)).finding("ccpr")
    assert (state_of(in_time, "DE").answer, in_time.verdict) == (Tri.YES, Verdict.CANDIDATE)
    assert "but they continue: HRC can hear the continuing violation" in state_of(in_time, "DE").reasons[1]


@pytest.mark.parametrize(("began", "answer"), [(date(2010, 12, 22), Tri.NO), (date(2010, 12, 23), Tri.YES)])
def test_a_disappearance_on_either_side_of_the_conventions_entry_into_force(run: Run, make_facts: MakeFacts,
                                                                           began: date, answer: Tri) -> None:
    """ICPPED Art 35 and Art 30; CED/C/4/Rev.1 (domain-facts.md 1.1, CED urgent action row: 'the disappearance
    must have begun after entry into force for that State'); for France the Convention took effect on its own entry
    into force, 23 December 2010 (ICPPED Art 39(1), as recorded in icpped_party.toml, unconfirmed). A disappearance
    that began the day before is out even though it continues; one that began that day is in."""
    facts = make_facts(respondent_states=["FR"], rights_invoked=["ICPPED art 2"], events_date=began,
                       events_continuing=True, urgency=Urgency(level="urgent", disappearance=True))
    finding = run(facts, date(2024, 1, 15)).finding("ced_ua")
    assert state_of(finding, "FR").answer is answer
    if answer is Tri.NO:
        assert finding.verdict_reasons[1:] == [
            "The events began on 2010-12-22, before its entry into force for FR on 2010-12-23: outside CED urgent "
            "action's temporal scope (ICPPED Art 35; Art 30). That they continue does not help: only events that "
            "began afterwards count.",
            "Not available against FR for these events: Urgent action is only for a disappearance that began after "
            "the Convention entered into force for the state (Art 35); a request about an earlier disappearance goes "
            "to the WGEID.",
        ]
    else:
        assert finding.verdict is Verdict.CANDIDATE


# --- (d) a temporal-scope finding explains itself and cites its rule ----------------------------------------------

HRC_TEMPORAL = Citation(
    mechanism="ccpr", provision="OP1 Art 1 (ratione temporis); HRC case law, e.g. S.E. v. Argentina, communication "
                                "275/1988",
    source="HRC case law as cited in the issue 8 review; not quoted in the project reference", status=PARTIAL)
OP1_IN_FORCE = Citation(
    mechanism="ccpr", provision="entry into force, list iccpr_op1",
    source="OP1 Art 9 (three months after deposit); deposit dates from https://treaties.un.org (Chapter IV.5) as "
           "known, not retrieved",
    status=UNCONFIRMED)


def test_a_temporal_bar_explains_itself_and_cites_its_rule(run: Run, make_facts: MakeFacts) -> None:
    """Issue 8, acceptance 3, with OP1 Art 1 ratione temporis (S.E. v. Argentina, 275/1988): events of June 1983
    against France, before OP1 took effect for it (17 May 1984), are outside the HRC's reach. The finding says so in
    plain words, names the rule in the words, and cites the rule and the entry-into-force data it read."""
    finding = run(make_facts(events_date=date(1983, 6, 1)), date(2024, 1, 15)).finding("ccpr")
    france = state_of(finding, "FR")
    assert france.reasons == [
        "FR is on the list: parties to the First Optional Protocol to the ICCPR (list as of 2024-06-30, status "
        "unconfirmed)",
        "The events began on 1983-06-01, before its entry into force for FR on 1984-05-17: outside HRC's temporal "
        "scope (OP1 Art 1 (ratione temporis); HRC case law, e.g. S.E. v. Argentina, communication 275/1988).",
        "Not available against FR for these events: The Committee examines only events after the Optional Protocol "
        "entered into force for the state, or violations that continue (or have continuing effects that are "
        "themselves a violation) after that date.",
    ]
    assert france.sources == [
        Citation(mechanism="ccpr", provision="acceptance list iccpr_op1",
                 source="https://treaties.un.org (Chapter IV.5); https://indicators.ohchr.org", status=UNCONFIRMED),
        HRC_TEMPORAL, OP1_IN_FORCE,
    ]
    assert finding.verdict is Verdict.UNAVAILABLE and finding.verdict_reasons == france.reasons
    assert HRC_TEMPORAL in finding.availability.citations and HRC_TEMPORAL in finding.citations


def test_a_temporal_check_is_explained_in_the_recommendation_with_its_provision(run: Run,
                                                                               make_facts: MakeFacts) -> None:
    """Issue 8, acceptance 3, with ICPPED Art 35(1)-(2) (domain-facts.md 1.1, CED rows): a disappearance in France
    that began in 2009 and continues is 'check' before the Committee (whether it hears obligations arising after
    entry into force is not settled in these rules); the recommendation says what to check, in plain words, with the
    provision, and the finding cites the rule."""
    facts = make_facts(respondent_states=["FR"], rights_invoked=["ICPPED art 2"], events_date=date(2009, 6, 1),
                       events_continuing=True, urgency=Urgency(level="urgent", disappearance=True))
    assessment = run(facts, date(2024, 1, 15))
    finding = assessment.finding("ced")
    reason = ("unknown: check: The events began on 2009-06-01, before its entry into force for FR on 2010-12-23; they "
              "continue, and whether CED hears a continuing violation that began earlier is not settled in these rules "
              "(ICPPED Art 35(1)-(2)).")
    assert (finding.verdict, finding.verdict_reasons) == (Verdict.CHECK, [reason])
    [recommendation] = [r for r in assessment.recommendations if r.mechanism == "ced"]
    assert recommendation.explanation == (
        "UN Committee on Enforced Disappearances (individual communications): whether it can hear this complaint is "
        "unknown; check the state's acceptance and, for the date of the events, when it took effect. Domestic "
        f"remedies are exhausted. The rules set no time limit for filing. To check: {reason} Its decisions are "
        "recommendations that do not formally bind the state.")
    assert Citation(mechanism="ced", provision="ICPPED Art 35(1)-(2)",
                    source="domain-facts.md 1.1 (CED rows); rightsinexile.org guide", status=PARTIAL,
                    note="Whether the Committee hears obligations that arise after entry into force for a "
                         "disappearance that began earlier (the duty to search and investigate) is not settled in "
                         "these rules: check.") in state_of(finding, "FR").sources


def test_an_unconfirmed_temporal_rule_reminds_and_never_rules_out(run: Run, make_facts: MakeFacts) -> None:
    """ADR 0010 (unconfirmed rules give guidance and 'check', never a rejection) with OP-CEDAW: the Protocol took
    effect on 22 December 2000 (domain-facts.md 1.1), France's own date is not in the data and the Art 4(2)(e) rule
    is unconfirmed. Events of 2010: a reminder to check, citing the rule, and the Committee stays a candidate.
    Events of 1999, before the Protocol itself: 'check', not 'unavailable'."""
    recent = run(make_facts(rights_invoked=["CEDAW art 2"], events_date=date(2010, 3, 1)),
                 date(2024, 1, 15)).finding("cedaw")
    france = state_of(recent, "FR")
    assert (france.answer, recent.verdict) == (Tri.YES, Verdict.CANDIDATE)
    assert france.reasons[1] == (
        "Check that the events (2010-03-01) are within CEDAW's temporal scope: the date the instrument took effect "
        "for FR (not before 2000-12-22) is not in the data (list op_cedaw as of 2024-06-30), and this rule is "
        "unconfirmed (OP-CEDAW Art 4(2)(e) (wording not in the project reference)).")
    cited = {(c.provision, c.status) for c in france.sources}
    assert ("OP-CEDAW Art 4(2)(e) (wording not in the project reference)", UNCONFIRMED) in cited
    assert ("entry into force, list op_cedaw", CONFIRMED) in cited

    old = run(make_facts(rights_invoked=["CEDAW art 2"], events_date=date(1999, 3, 1)),
              date(2024, 1, 15)).finding("cedaw")
    assert (state_of(old, "FR").answer, old.verdict) == (Tri.UNKNOWN, Verdict.CHECK)
    assert old.verdict_reasons == [
        "unknown: check: The events began on 1999-03-01, before the instrument's own entry into force on 2000-12-22, "
        "which CEDAW probably cannot examine (OP-CEDAW Art 4(2)(e) (wording not in the project reference); "
        "unconfirmed)."]
