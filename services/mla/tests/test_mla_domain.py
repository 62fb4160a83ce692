"""The pure parts of mla: the lifecycle (every actor × state × action), refusals, events, completeness and
the deadlines counted in the requested state's calendar. No I/O."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from comitas_mla.legal_bases.catalogue import LegalBases
from comitas_mla.requests import completeness, deadlines
from comitas_mla.requests.domain import (
    Action,
    RequestView,
    Role,
    State,
    check_refusal,
    decide,
    event_for,
)
from comitas_mla.requests.schemas import RequestContent
from comitas_shared.calendars import ExtensionRefused
from comitas_shared.errors import InvalidInput, InvalidTransition

R, D = Role.REQUESTING, Role.REQUESTED
OPEN = ["issued", "acknowledged", "clarification_requested", "clarified", "recognised", "in_execution", "postponed"]

# The lifecycle as the issue states it, written out by hand: (state, role, action) -> the state after.
# Everything not listed here must be refused (409).
ALLOWED: dict[tuple[str, Role, str], str] = {
    ("draft", R, "edit"): "draft",
    ("draft", R, "issue"): "issued",
    ("issued", D, "acknowledge"): "acknowledged",
    ("acknowledged", D, "request_clarification"): "clarification_requested",
    ("clarified", D, "request_clarification"): "clarification_requested",
    ("clarification_requested", R, "clarify"): "clarified",
    ("acknowledged", D, "recognise"): "recognised",
    ("clarified", D, "recognise"): "recognised",
    ("recognised", D, "return_result"): "in_execution",
    ("in_execution", D, "return_result"): "in_execution",
    ("recognised", D, "execute"): "executed",
    ("in_execution", D, "execute"): "executed",
    **{(state, D, "postpone"): "postponed" for state in ("acknowledged", "clarified", "recognised", "in_execution")},
    **{(state, D, "refuse"): "refused" for state in OPEN},
    **{(state, R, "withdraw"): "withdrawn" for state in OPEN},
    **{(state, R, "request_status"): state for state in OPEN},
    **{(state, D, "answer_status"): state for state in [*OPEN, "executed", "refused", "withdrawn"]},
    **{(state, R, "translate"): state for state in ["draft", *OPEN]},
    **{(state, D, "extend_recognition"): state
       for state in ("issued", "acknowledged", "clarification_requested", "clarified")},
    **{(state, D, "consult_on_execution"): state for state in ("recognised", "in_execution")},
}


def test_the_table_covers_every_action() -> None:
    assert {action for _, _, action in ALLOWED} | {"resume"} == {a.value for a in Action}


@pytest.mark.parametrize(("state", "role", "action"), list(itertools.product(State, Role, Action)),
                         ids=lambda v: v.value)
def test_every_transition_is_decided_as_the_lifecycle_says(state: State, role: Role, action: Action) -> None:
    if action is Action.RESUME:
        if state is State.POSTPONED and role is D:
            for before in ("acknowledged", "clarified", "recognised", "in_execution"):
                assert decide(state, role, action, postponed_from=State(before)) is State(before)
            with pytest.raises(InvalidTransition):
                decide(state, role, action, postponed_from=None)
        else:
            with pytest.raises(InvalidTransition):
                decide(state, role, action, postponed_from=State.RECOGNISED)
        return
    expected = ALLOWED.get((state.value, role, action.value))
    if expected is None:
        with pytest.raises(InvalidTransition) as refused:
            decide(state, role, action)
        assert refused.value.as_problem().status == 409
    else:
        assert decide(state, role, action).value == expected


def test_the_wrong_party_is_told_so() -> None:
    with pytest.raises(InvalidTransition) as refused:
        decide(State.ISSUED, R, Action.ACKNOWLEDGE)
    assert refused.value.slug == "not-this-partys-action" and "requested authority" in refused.value.detail


def test_terminal_states_are_final(bases: LegalBases) -> None:
    for state, role, action in itertools.product((State.EXECUTED, State.REFUSED, State.WITHDRAWN), Role, Action):
        if action is Action.ANSWER_STATUS and role is D:
            continue
        with pytest.raises(InvalidTransition):
            decide(state, role, action, postponed_from=State.RECOGNISED)


# --- refusals ---------------------------------------------------------------------------------------------


def test_a_refusal_cites_grounds_of_the_basis_and_nothing_else(bases: LegalBases) -> None:
    cited = check_refusal(bases["untoc_art18"], [("essential_interests", "It would prejudice essential interests.")])
    assert cited == [{"code": "essential_interests", "text": "It would prejudice essential interests.",
                      "provision": "UNTOC Art 18(21)(b)", "ground": bases["untoc_art18"].ground("essential_interests").text}]
    with pytest.raises(InvalidInput) as refused:
        check_refusal(bases["untoc_art18"], [("fundamental_rights", "x")])  # an EIO ground, not UNTOC's
    assert refused.value.slug == "refusal-ground-not-in-basis" and refused.value.as_problem().status == 422
    assert "essential_interests" in refused.value.extra["allowed"]
    with pytest.raises(InvalidInput):
        check_refusal(bases["eio"], [])


# --- events -----------------------------------------------------------------------------------------------


def view(confidential: bool) -> RequestView:
    return RequestView(id="req-1", reference="MLA-2027-ABCD-EFGH", state=State.REFUSED, basis="eio",
                       requesting_institution_id="inst-fr", requested_institution_id="inst-de",
                       requesting_state="FR", requested_state="DE", confidential=confidential,
                       assistance=("bank_records",))


def test_every_transition_event_concerns_both_authorities_and_a_confidential_one_says_only_id_and_state() -> None:
    now = datetime(2027, 5, 14, 10, tzinfo=UTC)
    open_event = event_for(Action.REFUSE, view(False), now=now, source="/comitas/mla",
                           extra={"grounds": ["double_criminality"]})
    assert open_event is not None and open_event.type == "comitas.mla.refused"
    assert open_event.concerns == ("inst-fr", "inst-de") and open_event.subject == "req-1"
    assert open_event.data["grounds"] == ["double_criminality"] and open_event.data["reference"] == "MLA-2027-ABCD-EFGH"
    secret = event_for(Action.REFUSE, view(True), now=now, source="/comitas/mla",
                       extra={"grounds": ["double_criminality"]})
    assert secret is not None and secret.data == {"request_id": "req-1", "state": "refused"}
    assert secret.concerns == ("inst-fr", "inst-de")
    assert event_for(Action.EDIT, view(False), now=now, source="/comitas/mla") is None
    issued = {a: event_for(a, view(False), now=now, source="/comitas/mla") for a in Action}
    assert {e.type.removeprefix("comitas.mla.") for e in issued.values() if e} >= {
        "issued", "acknowledged", "clarification_requested", "clarified", "recognised", "result_returned",
        "executed", "refused", "postponed", "withdrawn"}


# --- completeness -------------------------------------------------------------------------------------------


UNTOC_COMPLETE = {
    "conducting_authority": {"name": "Parquet national financier", "functions": "public prosecutor"},
    "proceedings": {"nature": "investigation", "subject": "Laundering"},
    "summary_of_facts": "Funds moved through accounts in São Paulo.",
    "purpose": "To trace the funds.",
    "assistance": [{"type": "bank_records", "description": "Statements of account 0001."}],
    "language": "pt",
}


def check(bases: LegalBases, code: str, content: dict, *, accepted: tuple[str, ...] = ("pt",),
          confidential: bool = False) -> completeness.Completeness:
    context = completeness.Context(content=RequestContent.model_validate(content), confidential=confidential,
                                   accepted_languages=accepted, attached_translations=())
    return completeness.check(bases[code], context)


@pytest.mark.parametrize(("missing", "provision"), [("summary_of_facts", "UNTOC Art 18(15)(c)"),
                                                    ("purpose", "UNTOC Art 18(15)(f)")])
def test_a_draft_without_facts_or_purpose_is_incomplete_with_the_provision(bases: LegalBases, missing: str,
                                                                           provision: str) -> None:
    assert check(bases, "untoc_art18", UNTOC_COMPLETE).complete
    result = check(bases, "untoc_art18", {k: v for k, v in UNTOC_COMPLETE.items() if k != missing})
    assert not result.complete
    assert [(i.rule.item.value, i.rule.provision) for i in result.missing] == [(missing, provision)]


def test_service_of_documents_needs_no_summary_of_facts(bases: LegalBases) -> None:
    content = {k: v for k, v in UNTOC_COMPLETE.items() if k != "summary_of_facts"}
    content["assistance"] = [{"type": "service_of_documents", "description": "Serve the summons."}]
    result = check(bases, "untoc_art18", content)
    assert result.complete
    facts = next(i for i in result.items if i.rule.item.value == "summary_of_facts")
    assert not facts.applies


def test_budapest_preservation_asks_for_the_art_29_2_items(bases: LegalBases) -> None:
    content = {"summary_of_facts": "Ransomware attack on a hospital.", "offences": [
        {"name": "Illegal access", "provisions": ["Code pénal, art. 323-1"]}],
        "assistance": [{"type": "preservation_of_stored_data", "description": "Preserve the account's data."}]}
    result = check(bases, "budapest_art29", content)
    assert [i.rule.provision for i in result.missing] == [
        "CETS 185 Art 29(2)(c)", "CETS 185 Art 29(2)(d)", "CETS 185 Art 29(2)(e)", "CETS 185 Art 29(2)(f)"]
    content["assistance"][0] |= {"data_description": "Mailbox x@example.org", "data_location": "Example Mail Inc.",
                                 "preservation_necessity": "Data is deleted after 30 days.", "intends_mla_request": True}
    assert check(bases, "budapest_art29", content).complete


def test_urgency_and_confidentiality_reasons_are_owed_only_when_urgent_or_confidential(bases: LegalBases) -> None:
    content = dict(UNTOC_COMPLETE)
    assert check(bases, "bilateral", content | {"offences": [{"name": "x", "provisions": ["y"]}]}).complete
    urgent = content | {"offences": [{"name": "x", "provisions": ["y"]}], "urgency": {"urgent": True}}
    result = check(bases, "bilateral", urgent, confidential=True)
    assert {i.rule.item.value for i in result.recommended} == {"urgency_reasons", "confidentiality_reasons",
                                                               "persons_concerned", "procedures"}


def test_a_translation_is_needed_when_the_request_is_not_in_an_accepted_language(bases: LegalBases) -> None:
    result = check(bases, "untoc_art18", UNTOC_COMPLETE | {"language": "fr"})
    assert [i.rule.item.value for i in result.missing] == ["translation"]
    context = completeness.Context(content=RequestContent.model_validate(UNTOC_COMPLETE | {"language": "fr"}),
                                   confidential=False, accepted_languages=("pt",), attached_translations=("pt",))
    assert completeness.check(bases["untoc_art18"], context).complete
    # Where the data does not say which languages the state accepts, the item is "check", not missing.
    unknown = check(bases, "untoc_art18", UNTOC_COMPLETE | {"language": "fr"}, accepted=())
    assert unknown.complete
    assert next(i for i in unknown.items if i.rule.item.value == "translation").present is None


# --- deadlines ----------------------------------------------------------------------------------------------

BERLIN = deadlines.Place(state="DE", time_zone="Europe/Berlin")


def planned(bases: LegalBases, start: str, on: date, place: deadlines.Place = BERLIN) -> dict[str, deadlines.Planned]:
    return {p.limit_id: p for p in deadlines.plan(bases["eio"], start=start, on=on, place=place)}


def test_eio_deadlines_received_on_the_friday_before_whit_monday(bases: LegalBases) -> None:
    found = planned(bases, "receipt", date(2027, 5, 14))
    assert set(found) == {"acknowledgement", "recognition"}
    # One week: the same weekday a week later; the holiday after receipt is counted, not skipped.
    assert found["acknowledgement"].last_day == date(2027, 5, 21)
    # 30 days end on Sunday 13 June, a non-working day in Germany: the next working day.
    assert found["recognition"].last_day == date(2027, 6, 14)
    assert found["recognition"].due_at_utc == datetime(2027, 6, 14, 21, 59, 59, 999000, tzinfo=UTC)
    assert found["acknowledgement"].hard and found["acknowledgement"].time_zone == "Europe/Berlin"
    assert found["recognition"].rule["provision"] == "Directive 2014/41/EU Art 12(3)"


def test_eio_acknowledgement_moves_over_good_friday_and_easter_monday(bases: LegalBases) -> None:
    found = planned(bases, "receipt", date(2027, 3, 19))
    assert found["acknowledgement"].last_day == date(2027, 3, 30)
    assert any("Good Friday" in line for line in found["acknowledgement"].explanation)
    assert any("Easter Monday" in line for line in found["acknowledgement"].explanation)
    assert found["recognition"].last_day == date(2027, 4, 19)
    # In France, where Good Friday is no public holiday, the same receipt gives another day.
    paris = planned(bases, "receipt", date(2027, 3, 19), deadlines.Place(state="FR", time_zone="Europe/Paris"))
    assert paris["acknowledgement"].last_day == date(2027, 3, 26)


def test_eio_execution_counts_from_the_recognition_decision(bases: LegalBases) -> None:
    found = planned(bases, "recognition", date(2027, 5, 18))
    assert set(found) == {"execution"}
    assert found["execution"].last_day == date(2027, 8, 16)


def test_eio_recognition_extension_is_capped_at_30_days_with_a_reason(bases: LegalBases) -> None:
    eio = bases["eio"]
    limit = eio.time_limit("recognition")
    recognition = planned(bases, "receipt", date(2027, 5, 14))["recognition"]
    longer = deadlines.extended(limit, eio, recognition.counting, 10, "Bank records take longer", BERLIN)
    assert longer.last_day == date(2027, 6, 23)
    full = deadlines.extended(limit, eio, longer.counting, 20, "Still waiting for the bank", BERLIN)
    assert full.last_day == date(2027, 7, 13)
    assert any("Still waiting for the bank" in line for line in full.explanation)
    with pytest.raises(ExtensionRefused) as refused:
        deadlines.extended(limit, eio, full.counting, 1, "One more day", BERLIN)
    assert refused.value.as_problem().status == 422
    with pytest.raises(ExtensionRefused):
        deadlines.extended(limit, eio, recognition.counting, 31, "Too long", BERLIN)


def test_a_postponement_stops_the_clock_and_resuming_restarts_it(bases: LegalBases) -> None:
    eio = bases["eio"]
    limit = eio.time_limit("execution")
    counting = planned(bases, "recognition", date(2027, 5, 18))["execution"].counting
    stopped = deadlines.count(limit, eio, deadlines.paused(counting, date(2027, 6, 1)), BERLIN)
    assert stopped.suspended and stopped.last_day is None
    again = deadlines.count(limit, eio, deadlines.resumed(deadlines.paused(counting, date(2027, 6, 1)),
                                                          date(2027, 6, 11)), BERLIN)
    assert again.last_day == date(2027, 8, 26)  # ten days later than 16 August


def test_as_soon_as_possible_bases_follow_up_on_the_requested_date_or_after_the_default(bases: LegalBases) -> None:
    place = deadlines.Place(state="BR", time_zone="America/Sao_Paulo")
    dated = deadlines.plan(bases["untoc_art18"], start="receipt", on=date(2027, 5, 14), place=place,
                           requested_date=date(2027, 9, 1))
    assert [(p.limit_id, p.kind, p.last_day, p.hard) for p in dated] == [
        ("execution", "requested_date", date(2027, 9, 1), False)]
    undated = deadlines.plan(bases["untoc_art18"], start="receipt", on=date(2027, 5, 14), place=place,
                             follow_up_days=60)
    assert [(p.kind, p.last_day) for p in undated] == [("follow_up", date(2027, 7, 13))]


def test_the_requested_authoritys_own_closures_and_zone_count_too(bases: LegalBases) -> None:
    closed = deadlines.Place(state="DE", time_zone="Europe/Berlin", closures=(
        {"day": "2027-05-21", "name": "Office move", "source": "institutions directory"},))
    found = planned(bases, "receipt", date(2027, 5, 14), closed)
    assert found["acknowledgement"].last_day == date(2027, 5, 24)
    assert any("Office move" in line for line in found["acknowledgement"].explanation)
    assert bases.time_zone_of("BR") == ("America/Sao_Paulo", None)
    assert bases.time_zone_of("FR") == ("Europe/Paris", None)
    zone, note = bases.time_zone_of("AQ")
    assert note and "unknown: check" in note


def test_resuming_the_day_it_stopped_loses_no_day(bases: LegalBases) -> None:
    counting = planned(bases, "recognition", date(2027, 5, 18))["execution"].counting
    same_day = deadlines.resumed(deadlines.paused(counting, date(2027, 6, 1)), date(2027, 6, 1))
    assert same_day.pauses == ()
    assert deadlines.count(bases["eio"].time_limit("execution"), bases["eio"], same_day, BERLIN).last_day == date(2027, 8, 16)
