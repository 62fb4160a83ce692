"""intake's complaint decisions with no I/O: plain values and an explicit ``now`` in, state and events out."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from comitas_intake.complaints import domain
from comitas_intake.complaints.domain import Action, CloseReason, Status, TrackAction, TrackKind
from comitas_intake.complaints.forms import shipped_forms
from comitas_intake.complaints.schemas import ComplaintCreate
from comitas_intake.vocabularies import shipped
from comitas_shared.errors import InvalidInput, InvalidTransition
from comitas_shared.events.catalogue import (
    COMPLAINT_ERASED,
    COMPLAINT_FILING_CHANGED,
    COMPLAINT_REFERRAL_CHANGED,
    COMPLAINT_STATUS_CHANGED,
    COMPLAINT_SUBMITTED,
)

NOW = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
SOURCE = "/comitas/intake"
VOCABULARIES = shipped()


def test_a_reference_carries_the_year_and_no_ambiguous_letters():
    references = {domain.new_reference(NOW) for _ in range(200)}
    assert len(references) == 200
    for reference in references:
        assert re.fullmatch(r"CMP-2026-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", reference), reference


def test_submission_is_announced_without_the_facts():
    event = domain.submitted_event(complaint_id="c-1", institution_id="inst-a", reference="CMP-2026-ABCD-EFGH",
                                   channel="public_form", respondent_states=["FR", "BE"], urgency="urgent", now=NOW,
                                   source=SOURCE)
    assert event.type == COMPLAINT_SUBMITTED.type
    assert event.time == NOW and event.subject == "c-1" and event.institutionid == "inst-a"
    assert event.data == {"complaint_id": "c-1", "institution_id": "inst-a", "reference": "CMP-2026-ABCD-EFGH",
                          "channel": "public_form", "submitted_at": "2026-11-30T09:15:00Z",
                          "respondent_states": ["FR", "BE"], "urgency": "urgent"}


# --- what is sealed ------------------------------------------------------------------------------------

FULL = ComplaintCreate.model_validate({
    "summary": "Amina Diallo was taken from her home by police officers.",
    "respondent_states": ["FR"],
    "victims": [{"kind": "person", "name": "Amina Diallo", "birth_date": "1990-02-01", "nationalities": ["SN"],
                 "contacts": [{"kind": "email", "value": "amina@example.org"}], "minor": False},
                {"kind": "group", "name": "Residents of rue X", "group_size": 12}],
    "representative": {"kind": "lawyer", "name": "Maître Dupont", "contacts": [{"kind": "phone", "value": "+33 1"}],
                       "authority": {"kind": "power_of_attorney", "victim_signed_on": "2026-11-02",
                                     "justification": "none needed"}},
    "actors": [{"role": "alleged_perpetrator", "kind": "state_agent", "state": "FR", "name": "Officer Martin"}],
    "incidents": [{"start": "2026-10-01", "country": "FR", "place": "Lyon, rue X", "narrative": "Beaten in the van.",
                   "act_types": ["020101"], "victims": [0], "actors": [0]}],
    "rights": [{"instrument": "ECHR", "article": "3", "note": "Amina was beaten"}],
    "relief": {"sought": ["investigation", "compensation"], "details": "Amina wants an apology"},
    "urgency": {"level": "urgent", "threats": True, "details": "Officer Martin threatened Amina"},
    "disclosure": {"respondent_state": "withheld", "reasons": "fear of reprisals against Amina"},
}).model_dump(mode="json")
NAMES = ("Amina", "Diallo", "1990-02-01", "amina@example.org", "Dupont", "+33 1", "Martin", "Lyon", "Beaten",
         "wants an apology", "fear of", "rue X", "none needed")


def test_split_keeps_no_name_date_contact_or_narrative_in_clear_and_join_restores_everything():
    for section, mask in domain.SEALED.items():
        clear, sealed = domain.split(FULL.get(section), mask)
        for secret in NAMES:
            assert secret not in repr(clear), (section, secret)
        assert without_nulls(domain.join(clear, sealed)) == without_nulls(FULL.get(section))


def without_nulls(value):
    """A null and an absent key read the same (the API's views default every sealed field to null)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def test_the_clear_half_says_what_exists_without_saying_what_it_is():
    clear, _ = domain.split(FULL["victims"], domain.SEALED["victims"])
    assert clear[0]["kind"] == "person" and clear[0]["minor"] is False
    assert set(clear[0][domain.PRESENT]) >= {"name", "birth_date", "nationalities", "contacts"}
    assert clear[0][domain.CONTACT_KINDS] == ["email"]
    assert clear[1] == {"kind": "group", "group_size": 12, "deceased": False, domain.PRESENT: ["name"],
                        domain.CONTACT_KINDS: []}
    withheld = domain.join(clear, None)
    assert "name" not in withheld[0] and domain.PRESENT not in withheld[0]


# --- validation: every problem, each with its pointer ----------------------------------------------------

def problems(record: dict, given=None) -> list[dict[str, str]]:
    with pytest.raises(InvalidInput) as raised:
        domain.validate(record, given=given or record.keys(), vocabularies=VOCABULARIES, now=NOW)
    assert raised.value.slug == "validation-error"
    return raised.value.extra["errors"]


def pointers(record: dict, given=None) -> set[str]:
    return {e["pointer"] for e in problems(record, given)}


def test_a_complete_valid_complaint_passes():
    domain.validate(FULL, given=FULL.keys(), vocabularies=VOCABULARIES, now=NOW)


@pytest.mark.parametrize(("record", "pointer"), [
    pytest.param({"incidents": [{"start": "2026-12-02"}]}, "/incidents/0/start", id="incident-in-the-future"),
    pytest.param({"incidents": [{"start": "2026-10-05", "end": "2026-10-01"}]}, "/incidents/0/end",
                 id="range-ends-before-it-starts"),
    pytest.param({"incidents": [{"end": "2026-10-01"}]}, "/incidents/0/start", id="range-without-start"),
    pytest.param({"incidents": [{"act_types": ["020101", "777777"]}]}, "/incidents/0/act_types/1",
                 id="unknown-act-code"),
    pytest.param({"incidents": [{"country": "ZZ"}]}, "/incidents/0/country", id="unknown-country"),
    pytest.param({"incidents": [{"victims": [1]}], "victims": [{"name": "A"}]}, "/incidents/0/victims/0",
                 id="no-such-victim"),
    pytest.param({"respondent_states": ["FR", "QQ"]}, "/respondent_states/1", id="no-such-iso-code"),
    pytest.param({"respondent_states": ["SU"], "events_date": "2001-01-01"}, "/respondent_states/0",
                 id="former-state-after-it-ceased"),
    pytest.param({"respondent_states": ["YU"]}, "/respondent_states/0", id="former-state-without-a-date"),
    pytest.param({"domestic_remedies": [{"description": "x", "final_decision_date": "2027-01-01"}]},
                 "/domestic_remedies/0/final_decision_date", id="decision-in-the-future"),
    pytest.param({"domestic_remedies": [{"description": "x", "final_decision_date": "2026-10-10",
                                         "notification_date": "2026-10-01"}]},
                 "/domestic_remedies/0/notification_date", id="notified-before-it-was-taken"),
    pytest.param({"rights": [{"instrument": "ICCPR", "article": "5"}]}, "/rights/0/article", id="no-such-article"),
    pytest.param({"rights": [{"instrument": "XYZ", "article": "1"}]}, "/rights/0/instrument", id="no-such-instrument"),
    pytest.param({"victims": [{"birth_date": "2030-01-01"}]}, "/victims/0/birth_date", id="born-in-the-future"),
    pytest.param({"victims": [{"nationalities": ["XX"]}]}, "/victims/0/nationalities/0", id="no-such-nationality"),
    pytest.param({"languages": {"spoken": ["fr", "zz"]}}, "/languages/spoken/1", id="no-such-language"),
    pytest.param({"events_date": "2026-12-25"}, "/events_date", id="events-in-the-future"),
    pytest.param({"other_procedures": [{"mechanism": "ccpr", "status": "decided", "ended_on": "2027-01-01"}]},
                 "/other_procedures/0/ended_on", id="other-procedure-ends-in-the-future"),
])
def test_bad_facts_are_refused_with_their_pointer(record, pointer):
    assert pointer in pointers(record)


def test_every_problem_is_reported_at_once():
    found = pointers({"incidents": [{"start": "2027-01-01", "act_types": ["99999999"]}],
                      "respondent_states": ["QQ"]})
    assert found == {"/incidents/0/start", "/incidents/0/act_types/0", "/respondent_states/0"}


def test_a_scheduled_removal_may_be_in_the_future_and_a_former_state_names_old_facts():
    domain.validate({"urgency": {"imminent_removal": True, "removal_date": "2027-01-15"},
                     "respondent_states": ["SU", "XK", "FR"], "incidents": [{"start": "1990-05-01", "country": "SU"}]},
                    given={"urgency", "respondent_states", "incidents"}, vocabularies=VOCABULARIES, now=NOW)


def test_a_date_that_is_already_today_somewhere_is_not_in_the_future():
    late_evening = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 1 December already in Kiribati (UTC+14)
    domain.validate({"incidents": [{"start": "2026-12-01"}]}, given={"incidents"}, vocabularies=VOCABULARIES,
                    now=late_evening)


def test_only_the_sections_given_are_checked_but_references_into_them_are():
    stored = {"respondent_states": ["YU"], "incidents": [{"victims": [1]}], "victims": [{}, {}]}
    domain.validate(stored, given={"summary"}, vocabularies=VOCABULARIES, now=NOW)
    assert pointers({**stored, "victims": [{}]}, given={"victims"}) == {"/incidents/0/victims/0"}


def test_torture_and_ill_treatment_and_arrest_and_enforced_disappearance_are_different_codes():
    acts = VOCABULARIES.acts
    torture, ill_treatment = acts.get("020101"), acts.get("020102")
    arrest, disappearance = acts.get("030101"), acts.get("03010301")
    assert torture and ill_treatment and arrest and disappearance
    assert "Torture" in torture.label and "degrading" in ill_treatment.label
    assert arrest.label == "Arrest" and "Enforced disappearance" in disappearance.label
    assert [t.code for t in acts.ancestors("03010301")] == ["03", "0301", "030103"]


# --- lifecycle: every status × every action ---------------------------------------------------------

# The specification, written out: from each status, what each action leads to (None: refused, 409).
R, U, A, C, W, T = (Status.RECEIVED, Status.UNDER_ASSESSMENT, Status.ACTIVE, Status.CLOSED, Status.WITHDRAWN,
                    Status.TRANSFERRED)
EXPECTED = {
    R: {Action.START_ASSESSMENT: U, Action.ACTIVATE: None, Action.CLOSE: C, Action.WITHDRAW: W, Action.REOPEN: None},
    U: {Action.START_ASSESSMENT: None, Action.ACTIVATE: A, Action.CLOSE: C, Action.WITHDRAW: W, Action.REOPEN: None},
    A: {Action.START_ASSESSMENT: None, Action.ACTIVATE: None, Action.CLOSE: C, Action.WITHDRAW: W,
        Action.REOPEN: None},
    C: {Action.START_ASSESSMENT: None, Action.ACTIVATE: None, Action.CLOSE: None, Action.WITHDRAW: None,
        Action.REOPEN: U},
    W: {Action.START_ASSESSMENT: None, Action.ACTIVATE: None, Action.CLOSE: None, Action.WITHDRAW: None,
        Action.REOPEN: None},
    # Taken over by another institution: the case goes on there, nothing moves here any more.
    T: {Action.START_ASSESSMENT: None, Action.ACTIVATE: None, Action.CLOSE: None, Action.WITHDRAW: None,
        Action.REOPEN: None},
}


def test_the_specification_covers_every_status_and_action():
    assert set(EXPECTED) == set(Status)
    assert all(set(row) == set(Action) for row in EXPECTED.values())


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_status_and_action(status, action):
    reason = CloseReason.RESOLVED if action is Action.CLOSE else None
    expected = EXPECTED[status][action]
    kwargs = dict(complaint_id="c-1", institution_id="inst-a", status=status.value, action=action, reason=reason,
                  now=NOW, source=SOURCE)
    if expected is None:
        with pytest.raises(InvalidTransition) as refused:
            domain.transition(**kwargs)
        assert refused.value.extra["current_status"] == status.value and refused.value.extra["action"] == action.value
        return
    decided = domain.transition(**kwargs)
    assert decided.to_status is expected and decided.from_status is status
    assert decided.event.type == COMPLAINT_STATUS_CHANGED.type
    assert decided.event.data == {"complaint_id": "c-1", "institution_id": "inst-a", "action": action.value,
                                  "from_status": status.value, "to_status": expected.value,
                                  "reason": reason.value if reason else None, "changed_at": "2026-11-30T09:15:00Z"}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("erased", [False, True])
def test_only_an_open_complaint_that_still_exists_is_transferred(status, erased):
    if status in (R, U, A) and not erased:
        assert domain.transfer_out(status=status.value, erased=erased) is T
        return
    with pytest.raises(InvalidTransition) as refused:
        domain.transfer_out(status=status.value, erased=erased)
    assert refused.value.extra == {"current_status": status.value, "action": "transfer"}


def test_closing_needs_a_reason_and_nothing_else_takes_one():
    with pytest.raises(InvalidInput):
        domain.transition(complaint_id="c", institution_id="i", status="active", action=Action.CLOSE, reason=None,
                          now=NOW, source=SOURCE)
    with pytest.raises(InvalidInput):
        domain.transition(complaint_id="c", institution_id="i", status="received", action=Action.WITHDRAW,
                          reason=CloseReason.OTHER, now=NOW, source=SOURCE)


FILING = {
    "preparing": {TrackAction.FILE: "filed", TrackAction.WITHDRAW: "withdrawn"},
    "filed": {TrackAction.REGISTER: "registered", TrackAction.REJECT: "rejected", TrackAction.WITHDRAW: "withdrawn"},
    "registered": {TrackAction.DECIDE: "decided", TrackAction.REJECT: "rejected", TrackAction.WITHDRAW: "withdrawn"},
    "decided": {}, "rejected": {}, "withdrawn": {},
}
REFERRAL = {
    "proposed": {TrackAction.SEND: "sent", TrackAction.CANCEL: "cancelled"},
    "sent": {TrackAction.ACCEPT: "accepted", TrackAction.DECLINE: "declined", TrackAction.CANCEL: "cancelled"},
    "accepted": {TrackAction.COMPLETE: "completed"},
    "declined": {}, "completed": {}, "cancelled": {},
}
TRACK_CASES = [(kind, status, action) for kind, table in ((TrackKind.FILING, FILING), (TrackKind.REFERRAL, REFERRAL))
               for status in table for action in TrackAction]


def test_the_track_specification_covers_every_state():
    assert set(FILING) == set(domain.TRACK_STATUSES[TrackKind.FILING])
    assert set(REFERRAL) == set(domain.TRACK_STATUSES[TrackKind.REFERRAL])


@pytest.mark.parametrize(("kind", "status", "action"), TRACK_CASES)
def test_every_referral_and_filing_state_and_action(kind, status, action):
    expected = (FILING if kind is TrackKind.FILING else REFERRAL)[status].get(action)
    kwargs = dict(kind=kind, complaint_id="c-1", complaint_status="active", institution_id="inst-a", track_id="t-1",
                  target="echr" if kind is TrackKind.FILING else "inst-b", status=status, action=action, now=NOW,
                  source=SOURCE)
    if expected is None:
        with pytest.raises(InvalidTransition):
            domain.track_transition(**kwargs)
        return
    changed = domain.track_transition(**kwargs)
    assert (changed.from_status, changed.to_status) == (status, expected)
    event_type = COMPLAINT_FILING_CHANGED if kind is TrackKind.FILING else COMPLAINT_REFERRAL_CHANGED
    assert changed.event.type == event_type.type and changed.event.data["to_status"] == expected


@pytest.mark.parametrize("complaint_status", list(Status))
@pytest.mark.parametrize("kind", list(TrackKind))
def test_referrals_and_filings_move_only_while_the_complaint_is_open(complaint_status, kind):
    first = domain.FILING_START if kind is TrackKind.FILING else domain.REFERRAL_START
    action = TrackAction.FILE if kind is TrackKind.FILING else TrackAction.SEND
    open_ = complaint_status in (Status.RECEIVED, Status.UNDER_ASSESSMENT, Status.ACTIVE)
    for attempt in (
        lambda: domain.open_track(kind=kind, complaint_id="c", complaint_status=complaint_status.value,
                                  institution_id="i", track_id="t", target="x", now=NOW, source=SOURCE),
        lambda: domain.track_transition(kind=kind, complaint_id="c", complaint_status=complaint_status.value,
                                        institution_id="i", track_id="t", target="x", status=first, action=action,
                                        now=NOW, source=SOURCE),
    ):
        if open_:
            attempt()
        else:
            with pytest.raises(InvalidTransition):
                attempt()


def test_erasure_happens_once_and_its_event_holds_no_reason():
    [event] = domain.erase(complaint_id="c-1", institution_id="inst-a", erased_at=None, now=NOW, source=SOURCE)
    assert event.type == COMPLAINT_ERASED.type
    assert event.data == {"complaint_id": "c-1", "institution_id": "inst-a", "erased_at": "2026-11-30T09:15:00Z",
                          "recipients": []}
    assert event.concerns == ()
    with pytest.raises(InvalidTransition):
        domain.erase(complaint_id="c-1", institution_id="inst-a", erased_at=NOW, now=NOW, source=SOURCE)


def test_erasure_tells_each_holder_of_a_grant_alone():
    events = domain.erase(complaint_id="c-1", institution_id="inst-a", erased_at=None, now=NOW, source=SOURCE,
                          holders={"inst-c": ["g-3"], "inst-b": ["g-2", "g-1"]})
    assert [e.concerns for e in events] == [("inst-a", "inst-b"), ("inst-a", "inst-c")]
    assert [e.data["recipients"] for e in events] == [[{"institution_id": "inst-b", "grant_ids": ["g-1", "g-2"]}],
                                                      [{"institution_id": "inst-c", "grant_ids": ["g-3"]}]]


# --- completeness --------------------------------------------------------------------------------------

def clear_of(full: dict) -> tuple[dict, set[str]]:
    """The clear half of a complaint and the sections that have a sealed half, as the service stores them."""
    record, sealed = {}, set()
    for key, value in full.items():
        mask = domain.SEALED.get(key)
        if mask is None:
            record[key] = value
            continue
        clear, secret = domain.split(value, mask)
        if key != "summary":
            record[key] = clear
        if secret is not None:
            sealed.add(key)
    return record, sealed


def missing(forum: str, full: dict) -> dict[str, set[str]]:
    record, sealed = clear_of(full)
    found = domain.completeness(shipped_forms()[forum], record, sealed=sealed, vocabularies=VOCABULARIES)
    result: dict[str, set[str]] = {}
    for item in found.missing:
        result.setdefault(item.requirement.id, set()).add(item.pointer)
    return result


def test_an_empty_complaint_lacks_everything_each_item_citing_its_rule():
    record, sealed = clear_of(ComplaintCreate().model_dump(mode="json"))
    for forum, form in shipped_forms().items():
        found = domain.completeness(form, record, sealed=sealed, vocabularies=VOCABULARIES)
        assert not found.complete, forum
        assert all(m.requirement.provision and m.requirement.source and m.requirement.status for m in found.missing)
    echr = missing("echr", ComplaintCreate().model_dump(mode="json"))
    assert {"a.victim", "d.respondent", "e.facts", "f.violations", "g.exhaustion", "g.final_decision",
            "g.other_procedures"} <= echr.keys()
    assert domain.is_draft(shipped_forms().values(), record, sealed=sealed, vocabularies=VOCABULARIES)


ECHR_READY = {**FULL,
              "victims": [{"kind": "person", "name": "Amina Diallo", "birth_date": "1990-02-01", "nationalities": ["SN"],
                           "addresses": [{"text": "1 rue X, Lyon", "country": "FR"}]}],
              "representative": {"kind": "lawyer", "name": "Maître Dupont",
                                 "addresses": [{"text": "2 quai Y, Paris", "country": "FR"}],
                                 "contacts": [{"kind": "phone", "value": "+33 1"},
                                              {"kind": "email", "value": "d@example.org"}],
                                 "authority": {"kind": "signed_authority_form", "victim_signed_on": "2026-11-02",
                                               "representative_signed_on": "2026-11-03"}},
              "domestic_remedies": [{"description": "Cour de cassation", "exhausted": True,
                                     "final_decision_date": "2026-10-30", "notification_date": "2026-11-04"}],
              "no_other_procedures": True}


def test_a_complete_echr_application_lacks_nothing_and_one_item_less_is_named():
    assert missing("echr", ECHR_READY) == {}
    no_birth_date = {**ECHR_READY, "victims": [{**ECHR_READY["victims"][0], "birth_date": None}]}
    assert missing("echr", no_birth_date) == {"a.birth_date": {"/victims/0/birth_date"}}
    unsigned = {**ECHR_READY, "representative": {**ECHR_READY["representative"],
                                                 "authority": {"kind": "signed_authority_form"}}}
    assert missing("echr", unsigned) == {"c.authority": {"/representative/authority/victim_signed_on",
                                                         "/representative/authority/representative_signed_on"}}
    under_the_un = {**ECHR_READY, "rights": [{"instrument": "ICCPR", "article": "7"}]}
    assert missing("echr", under_the_un) == {"f.violations": {"/rights"}}


def test_the_iachr_asks_whether_the_identity_is_withheld_from_the_state_and_why():
    base = {**ECHR_READY, "rights": [{"instrument": "ACHR", "article": "5"}]}
    assert "28.2.identity_to_state" not in missing("iachr", base)
    no_reasons = {**base, "disclosure": {"respondent_state": "withheld"}}
    assert missing("iachr", no_reasons)["28.2.identity_to_state"] == {"/disclosure/reasons"}
    undecided = {**base, "disclosure": {}}
    assert missing("iachr", undecided)["28.2.identity_to_state"] == {"/disclosure/respondent_state"}
