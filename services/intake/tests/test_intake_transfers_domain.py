"""The pure parts of a transfer: the recipient's complaint is made of the consented categories and nothing
else; the filing deadlines are handed over with the same last days; the event concerns both sides."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from comitas_intake.assessments import domain as assessments
from comitas_intake.complaints.schemas import ComplaintCreate
from comitas_intake.transfers import domain
from comitas_shared.errors import InvalidInput
from comitas_shared.events.catalogue import COMPLAINT_TRANSFERRED, DEADLINE_REQUESTED, DEADLINE_WITHDRAWN

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
IDENTITY = {"victims": [{"kind": "person", "name": "Amina Diallo", "birth_date": "1990-02-01", "sex": None}],
            "representative": {"kind": "lawyer", "name": "Me Martin", "organisation": None, "authority": None},
            "petitioner": None}
CONTACT = {"victims": [{"addresses": None, "contacts": [{"kind": "phone", "value": "+33 1 23", "safe_to_use": True,
                                                          "note": None}]}],
           "representative": {"addresses": None, "contacts": [{"kind": "email", "value": "m@example.org",
                                                                "safe_to_use": True, "note": None}]},
           "petitioner": None}
NARRATIVE = {"summary": "Returned across the border.", "respondent_states": ["FR"], "incidents": [],
             "domestic_remedies": [{"description": "appeal", "exhausted": True, "final_decision_date": "2026-11-02",
                                    "notification_date": None, "nature": None, "exception_claimed": None}],
             "events_date": None, "languages": {"spoken": [], "preferred": None, "interpreter_needed": None,
                                                "submission": "fr"}}
HANDLING = {"identity_disclosure": {"receiving_body": "allowed", "respondent_state": "withheld", "public": None}}


def test_identity_and_contact_join_position_by_position_and_the_result_is_a_valid_submission():
    made = domain.complaint_from_disclosure(
        {"identity": IDENTITY, "contact": CONTACT, "narrative": NARRATIVE, "evidence": {"items": []}, "health": None},
        HANDLING)
    assert made["victims"] == [{"kind": "person", "name": "Amina Diallo", "birth_date": "1990-02-01",
                                "contacts": [{"kind": "phone", "value": "+33 1 23", "safe_to_use": True}]}]
    assert made["representative"]["contacts"][0]["value"] == "m@example.org"
    assert "petitioner" not in made and "evidence" not in made and "health" not in made
    assert made["disclosure"] == {"receiving_body": "allowed", "respondent_state": "withheld"}
    assert made["domestic_remedies"][0] == {"description": "appeal", "exhausted": True,
                                            "final_decision_date": "2026-11-02"}
    ComplaintCreate.model_validate(made)


def test_only_the_categories_disclosed_reach_the_new_complaint():
    narrative_only = domain.complaint_from_disclosure({"narrative": NARRATIVE}, {})
    assert "victims" not in narrative_only and "representative" not in narrative_only
    assert narrative_only["summary"] == "Returned across the border."
    identity_only = domain.complaint_from_disclosure({"identity": IDENTITY}, {})
    assert "summary" not in identity_only and "domestic_remedies" not in identity_only
    assert "contacts" not in identity_only["victims"][0]
    # Known by contact alone, a representative says nothing of who they are: left out.
    contact_only = domain.complaint_from_disclosure({"contact": CONTACT}, {})
    assert "representative" not in contact_only
    assert contact_only["victims"] == [{"contacts": [{"kind": "phone", "value": "+33 1 23", "safe_to_use": True}]}]
    ComplaintCreate.model_validate(contact_only)


def test_a_case_is_not_transferred_to_its_holder():
    with pytest.raises(InvalidInput):
        domain.check_parties(sender="inst-a", recipient="inst-a")
    domain.check_parties(sender="inst-a", recipient="inst-b")


def _deadline(mechanism: str, last_day: str) -> dict:
    return {"mechanism": mechanism, "what": f"File with {mechanism}", "last_day": last_day,
            "time_zone": "Europe/Strasbourg", "ends_at_utc": f"{last_day}T22:59:59Z", "hard": True,
            "moves_on_non_working_day": False, "calendar_rule": "calendar days", "stop_event": "none",
            "citation": {"mechanism": mechanism, "provision": "Art 35(1)", "source": "https://example.org",
                         "status": "confirmed"}}


def test_deadlines_are_withdrawn_for_the_sender_and_requested_for_the_recipient_with_the_same_last_day():
    assessment = {"deadlines": [_deadline("echr", "2027-03-02"), _deadline("hrc", "2026-11-01")]}
    events, handed = assessments.handover_events(
        assessment=assessment, from_institution_id="inst-a", from_complaint_id="c-a", to_institution_id="inst-b",
        to_complaint_id="c-b", to_reference="CMP-2026-AAAA-BBBB", today=date(2026, 12, 1), now=NOW, source="test")
    withdrawn = [e for e in events if e.type == DEADLINE_WITHDRAWN.type]
    requested = [e for e in events if e.type == DEADLINE_REQUESTED.type]
    assert [e.data for e in withdrawn] == [
        {"deadline_key": "complaint:c-a:filing:echr", "institution_id": "inst-a", "reason": "withdrawn"},
        {"deadline_key": "complaint:c-a:filing:hrc", "institution_id": "inst-a", "reason": "withdrawn"}]
    # A limit already past is not handed over; the one ahead keeps its day, zone, rule and citation.
    assert [d.mechanism for d in handed] == ["echr"]
    [request] = requested
    assert request.institutionid == "inst-b" and request.subject == "c-b"
    assert request.data["deadline_key"] == "complaint:c-b:filing:echr"
    assert request.data["last_day"] == "2027-03-02" and request.data["time_zone"] == "Europe/Strasbourg"
    assert request.data["due_at"] == "2027-03-02T22:59:59Z" and request.data["rule"]["provision"] == "Art 35(1)"
    assert request.data["title"] == "File with echr (CMP-2026-AAAA-BBBB)"


def test_nothing_to_hand_over_without_deadlines():
    assert assessments.handover_events(
        assessment={}, from_institution_id="a", from_complaint_id="c", to_institution_id="b", to_complaint_id="d",
        to_reference="R", today=date(2026, 12, 1), now=NOW, source="test") == ([], [])


def test_the_transfer_event_concerns_both_institutions_and_carries_no_data():
    event = domain.transferred_event(
        complaint_id="c-b", institution_id="inst-b", reference="CMP-2026-AAAA-BBBB", from_institution_id="inst-a",
        from_complaint_id="c-a", referral_id="r-1", grant_id="g-1", categories=["narrative", "identity"],
        deadlines=[("echr", date(2027, 3, 2), "Europe/Strasbourg")], now=NOW, source="test")
    assert event.type == COMPLAINT_TRANSFERRED.type and event.concerns == ("inst-a", "inst-b")
    assert event.data["transferred_from"] == {"institution_id": "inst-a", "complaint_id": "c-a"}
    assert event.data["categories"] == ["identity", "narrative"]
    assert event.data["deadlines"] == [{"mechanism": "echr", "last_day": "2027-03-02", "time_zone": "Europe/Strasbourg"}]


def test_an_erased_assessment_keeps_its_deadlines_and_loses_its_findings():
    result = {"rules_version": "r1", "acceptances_version": "a1", "assessed_on": "2026-12-01",
              "findings": [{"reasons": ["'appeal to the Lyon court' is marked ordinary"]}],
              "deadlines": [_deadline("echr", "2027-03-02")]}
    kept = assessments.erased_result(result)
    assert kept == {"rules_version": "r1", "acceptances_version": "a1", "assessed_on": "2026-12-01",
                    "deadlines": result["deadlines"], "erased": True}


def test_the_first_assessment_after_a_transfer_replaces_the_deadlines_handed_over():
    link = {"institution_id": "inst-a", "complaint_id": "c-a", "at": "2026-12-01T10:00:00+00:00",
            "deadlines": ["echr", "hrc"]}
    assert assessments.handed_over_keys("c-b", link) == {"complaint:c-b:filing:echr", "complaint:c-b:filing:hrc"}
    assert assessments.handed_over_keys("c-b", None) == set()
