"""The filings domain, pure: every status × action, the preparation's item states, blocks, the
confidentiality request, translation, mandate proposals and the publication check."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from comitas_intake.filings import domain
from comitas_intake.filings.rules import load_rules, shipped_rules
from comitas_intake.proceedings import domain as proceedings
from comitas_intake.proceedings.rules import shipped_procedures
from comitas_shared.errors import InvalidInput, InvalidTransition

RULES = shipped_rules()
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TODAY = date(2026, 12, 1)
VIEW = {
    "summary": "Arrested at home.", "respondent_states": ["FR"],
    "victims": [{"name": "A. K.", "birth_date": "1985-03-02", "nationalities": ["TR"],
                 "addresses": [{"text": "12 Rue X", "country": "FR"}], "contacts": []}],
    "incidents": [{"start": "2026-09-01", "country": "FR", "place": "Lyon", "narrative": "Held."}],
    "rights": [{"instrument": "ECHR", "article": "5"}],
    "domestic_remedies": [{"description": "appeal", "exhausted": True, "final_decision_date": "2026-10-20"}],
    "no_other_procedures": True,
    "disclosure": {"respondent_state": "allowed", "public": "undecided"},
}
ALL = frozenset({"identity", "contact", "narrative", "evidence"})


def prepared(body: str = "echr", view: dict | None = None, allowed=ALL) -> domain.Preparation:
    chosen = RULES.bodies[body]
    return domain.prepare(chosen, RULES.form_of(chosen), view or VIEW, allowed=allowed)


def test_the_shipped_rules_load_and_every_body_has_its_form():
    assert set(RULES.bodies) >= {"echr", "iachr_petition", "iachr_precautionary", "ccpr", "cat", "cedaw", "wgad", "sp"}
    assert load_rules().version == RULES.version
    assert all(item.source and item.provision for form in RULES.forms.values() for s in form.section
               for item in s.item)


def test_items_follow_the_form_order_and_consent_withholds_content():
    found = prepared(allowed=frozenset({"identity", "narrative"}))
    assert [s.id for s in found.sections] == ["a", "b", "c", "d", "e", "f", "g", "h"]
    states = {i.item.id: i for i in found.items}
    assert states["a.name"].state is domain.ItemState.PRESENT and states["a.name"].lines == ("Victim 1: A. K.",)
    assert states["a.address"].state is domain.ItemState.WITHHELD and not states["a.address"].lines
    assert states["b.name"].state is domain.ItemState.NOT_APPLICABLE  # no representative
    assert states["h.annexes"].state is domain.ItemState.MISSING and not states["h.annexes"].blocking
    assert not found.complete and [i.item.id for i in found.items if i.blocking] == ["a.address"]
    assert prepared().complete


def test_blocks_for_identity_to_the_state_without_consent_and_for_no_identity_consent():
    cedaw = prepared("cedaw", VIEW | {"disclosure": {"respondent_state": "withheld"}})
    assert [b.code for b in cedaw.blocks] == ["identity_to_state_without_consent"]
    assert "OP-CEDAW Art 6(1)" in cedaw.blocks[0].reason
    assert not prepared("cedaw").blocks
    assert [b.code for b in prepared("echr", allowed=frozenset({"narrative"})).blocks] == ["identity_not_consented"]


@pytest.mark.parametrize(("body", "disclosure", "expected"), [
    ("echr", {"public": "withheld"}, "Rule 47 §4"), ("echr", {"public": "allowed"}, None),
    ("iachr_petition", {"respondent_state": "withheld"}, "Art 28(2)"), ("iachr_petition", {}, None),
    ("sp", {}, "confidential"), ("cedaw", {"public": "withheld"}, None),
])
def test_the_confidentiality_request_appears_where_the_victim_asked(body, disclosure, expected):
    found = domain.confidentiality_request(RULES.bodies[body], {"disclosure": disclosure})
    assert (found is None) if expected is None else (expected in (found or ""))


def test_translation():
    echr = RULES.bodies["echr"]
    assert domain.translation_status("fr", echr, None) is domain.Translation.NOT_NEEDED
    assert domain.translation_status("tr", echr, None) is domain.Translation.NEEDED
    assert domain.translation_status(None, echr, domain.Translation.DONE) is domain.Translation.DONE
    with pytest.raises(InvalidInput):
        domain.translation_status("tr", echr, domain.Translation.NOT_NEEDED)


def _move(status, action, *, preparation=None, translation=domain.Translation.NOT_NEEDED, on=None, channel=None,
          reference=None, current_reference=None, body="echr"):
    return domain.transition(status=status.value, action=action, body=RULES.bodies[body],
                             preparation=preparation if preparation is not None else prepared(),
                             translation=translation, on=on, channel=channel, reference=reference,
                             current_reference=current_reference, today=TODAY)


GOOD = {domain.Action.FILE: {"on": TODAY, "channel": "post"}, domain.Action.REGISTER: {"reference": "12345/26"}}


@pytest.mark.parametrize("status", list(domain.Status))
@pytest.mark.parametrize("action", list(domain.Action))
def test_every_status_and_action(status, action):
    allowed, target = domain.TRANSITIONS[action]
    if status not in allowed:
        with pytest.raises(InvalidTransition):
            _move(status, action, **GOOD.get(action, {}))
        return
    change = _move(status, action, **GOOD.get(action, {}))
    assert change.from_status is status and change.to_status is target


def test_ready_and_filing_are_refused_while_incomplete_blocked_or_untranslated():
    incomplete = prepared(allowed=frozenset({"identity", "narrative"}))
    blocked = prepared("cedaw", VIEW | {"disclosure": {}}, ALL)
    for preparation, slug in ((incomplete, "filing-incomplete"), (blocked, "filing-blocked")):
        with pytest.raises(InvalidTransition) as caught:
            _move(domain.Status.PREPARING, domain.Action.MARK_READY, preparation=preparation,
                  body="cedaw" if preparation is blocked else "echr")
        assert caught.value.slug == slug
    for translation in (domain.Translation.NEEDED, domain.Translation.IN_PROGRESS):
        with pytest.raises(InvalidTransition):
            _move(domain.Status.PREPARING, domain.Action.MARK_READY, translation=translation)
    assert _move(domain.Status.PREPARING, domain.Action.MARK_READY,
                 translation=domain.Translation.DONE).to_status is domain.Status.READY


@pytest.mark.parametrize(("kwargs", "pointer"), [
    ({"on": TODAY}, "/channel"), ({"channel": "post"}, "/on"), ({"on": TODAY, "channel": "email"}, "/channel"),
    ({"on": date(2027, 1, 1), "channel": "post"}, "/on"),
])
def test_filing_needs_its_day_and_one_of_the_body_s_channels(kwargs, pointer):
    with pytest.raises(InvalidInput) as caught:
        _move(domain.Status.READY, domain.Action.FILE, **kwargs)
    assert caught.value.extra["errors"][0]["pointer"] == pointer


def test_registration_needs_the_body_s_reference_and_other_actions_take_no_channel():
    with pytest.raises(InvalidInput):
        _move(domain.Status.FILED, domain.Action.REGISTER)
    assert _move(domain.Status.FILED, domain.Action.REGISTER, current_reference="1/26").to_status is \
        domain.Status.REGISTERED
    with pytest.raises(InvalidInput):
        _move(domain.Status.FILED, domain.Action.REJECT, channel="post")


def test_mandates_are_proposed_from_acts_rights_and_profiles_each_with_its_source():
    found = domain.propose_mandates(RULES.mandates.values(), act_types=["030102"], rights=[],
                                    profiles=["human_rights_defender"])
    codes = [p.mandate.code for p in found]
    assert "wgad" in codes and "sr_defenders" in codes and "achpr_sr_defenders" not in codes
    assert all(p.mandate.source for p in found)
    african = domain.propose_mandates(RULES.mandates.values(), act_types=[], rights=[],
                                      profiles=["human_rights_defender"], systems=["un", "african"])
    assert "achpr_sr_defenders" in [p.mandate.code for p in african]
    assert domain.propose_mandates(RULES.mandates.values(), act_types=["0701"], rights=[], profiles=[]) == []


def test_mandates_are_chosen_only_for_a_body_that_takes_them():
    assert domain.check_mandates(RULES.bodies["sp"], ["wgad", "sr_defenders", "wgad"], RULES.mandates) == \
        ("wgad", "sr_defenders")
    for body, chosen in (("sp", []), ("sp", ["nobody"]), ("echr", ["wgad"])):
        with pytest.raises(InvalidInput):
            domain.check_mandates(RULES.bodies[body], chosen, RULES.mandates)


def test_the_publication_check_falls_due_at_the_publication_delay_and_is_not_a_hard_limit():
    events = domain.publication_check(body=RULES.bodies["sp"], filing_id="f1", complaint_id="c1",
                                      institution_id="i1", filed_on=date(2026, 11, 2), mandates=["wgad"], now=NOW,
                                      source="test")
    assert len(events) == 1 and events[0].data["last_day"] == "2027-01-01" and events[0].data["hard"] is False
    assert domain.publication_check(body=RULES.bodies["echr"], filing_id="f1", complaint_id="c1",
                                    institution_id="i1", filed_on=TODAY, mandates=[], now=NOW, source="t") == []
    # The step of the proceedings that answers it withdraws the same deadline, as met.
    checked = proceedings.record_step(
        shipped_procedures().for_body("sp"), filing_status="filed", kind="publication_checked", on=TODAY,
        today=TODAY, set_days={}, open_limits={"publication_check"}, filing_id="f1", complaint_id="c1",
        institution_id="i1", mechanism="sp", concerns=None, now=NOW, source="t")
    met = [e.data for e in checked.events if e.type == "comitas.deadline.withdrawn"]
    assert [(m["reason"], m["deadline_key"]) for m in met] == [("met", events[0].data["deadline_key"])]
