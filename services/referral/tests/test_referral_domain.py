"""Every side × state × action of the referral lifecycle, against a table written out by hand here (not
derived from the code it checks), and the derived overdue flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from comitas_referral.directory import domain as directory
from comitas_referral.referrals import domain
from comitas_referral.referrals.domain import Action, Side, State
from comitas_shared.errors import InvalidInput, InvalidTransition

S, R = Side.SENDER, Side.RECIPIENT
# (action, side, from state) -> state after. Anything not listed is refused (409).
ALLOWED: dict[tuple[Action, Side, State], State] = {
    (Action.SEND, S, State.SENDING): State.SENT,
    (Action.FAIL, S, State.SENDING): State.FAILED,
    (Action.ACKNOWLEDGE, R, State.SENT): State.ACKNOWLEDGED,
    (Action.REQUEST_INFORMATION, R, State.ACKNOWLEDGED): State.ACKNOWLEDGED,
    (Action.PROVIDE_INFORMATION, S, State.ACKNOWLEDGED): State.ACKNOWLEDGED,
    (Action.ACCEPT, R, State.ACKNOWLEDGED): State.ACCEPTED,
    (Action.DECLINE, R, State.SENT): State.DECLINED,
    (Action.DECLINE, R, State.ACKNOWLEDGED): State.DECLINED,
    (Action.WITHDRAW, S, State.SENT): State.WITHDRAWN,
    (Action.WITHDRAW, S, State.ACKNOWLEDGED): State.WITHDRAWN,
    **{(Action.CLOSE, side, state): state for side in Side
       for state in (State.ACCEPTED, State.DECLINED, State.WITHDRAWN)},
    **{(Action.POST_MESSAGE, side, state): state for side in Side
       for state in (State.SENT, State.ACKNOWLEDGED, State.ACCEPTED, State.DECLINED, State.WITHDRAWN)},
}
EVENTS = {Action.SEND: "comitas.referral.sent", Action.ACKNOWLEDGE: "comitas.referral.acknowledged",
          Action.REQUEST_INFORMATION: "comitas.referral.information_requested",
          Action.PROVIDE_INFORMATION: "comitas.referral.information_provided",
          Action.ACCEPT: "comitas.referral.accepted", Action.DECLINE: "comitas.referral.declined",
          Action.WITHDRAW: "comitas.referral.withdrawn", Action.CLOSE: "comitas.referral.closed",
          Action.POST_MESSAGE: "comitas.referral.message_posted", Action.FAIL: None}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize("state", list(State))
def test_every_side_state_and_action(action: Action, side: Side, state: State) -> None:
    expected = ALLOWED.get((action, side, state))
    if expected is None:
        with pytest.raises(InvalidTransition):
            domain.decide(state, side, action, open_requests=1)
        return
    decision = domain.decide(state, side, action, open_requests=1)
    assert decision.to is expected
    assert (decision.event.type if decision.event else None) == EVENTS[action]


def test_the_wrong_side_is_told_so() -> None:
    with pytest.raises(InvalidTransition) as refused:
        domain.decide(State.SENT, Side.SENDER, Action.ACKNOWLEDGE)
    assert refused.value.slug == "not-this-sides-action"


@pytest.mark.parametrize("action", [Action.CLOSE, Action.POST_MESSAGE])
def test_a_side_that_closed_its_side_neither_closes_again_nor_writes(action: Action) -> None:
    domain.decide(State.ACCEPTED, Side.RECIPIENT, action, closed=frozenset({Side.SENDER}))
    with pytest.raises(InvalidTransition) as refused:
        domain.decide(State.ACCEPTED, Side.SENDER, action, closed=frozenset({Side.SENDER}))
    assert refused.value.slug == "side-closed"


def test_information_is_provided_only_while_a_request_is_open() -> None:
    with pytest.raises(InvalidTransition) as refused:
        domain.decide(State.ACKNOWLEDGED, Side.SENDER, Action.PROVIDE_INFORMATION, open_requests=0)
    assert refused.value.slug == "no-open-information-request"


def test_overdue_is_derived_and_never_while_information_is_awaited() -> None:
    due = datetime(2026, 12, 10, 22, 59, tzinfo=UTC)
    late, early = due + timedelta(seconds=1), due - timedelta(seconds=1)
    assert domain.overdue(State.SENT, late, acknowledgement_due_at=due, response_due_at=None,
                          open_requests=0) == "acknowledgement"
    assert domain.overdue(State.SENT, early, acknowledgement_due_at=due, response_due_at=None, open_requests=0) is None
    assert domain.overdue(State.ACKNOWLEDGED, late, acknowledgement_due_at=due, response_due_at=due,
                          open_requests=0) == "response"
    assert domain.overdue(State.ACKNOWLEDGED, late, acknowledgement_due_at=due, response_due_at=due,
                          open_requests=1) is None
    for ended in (State.ACCEPTED, State.DECLINED, State.WITHDRAWN):
        assert domain.overdue(ended, late, acknowledgement_due_at=due, response_due_at=due, open_requests=0) is None


def _new(**changes: object) -> None:
    values: dict[str, object] = dict(
        sender="a", recipient="b", kind=domain.Kind.REFERRAL, purpose=domain.Purpose.INVESTIGATE,
        accepts_referrals=True, active=True, kinds=("referral",), purposes=("investigate",), override_reason=None,
        categories=("identity",))
    values.update(changes)
    domain.check_new(**values)  # type: ignore[arg-type]


def test_a_new_referral_must_suit_the_recipient_s_directory_entry() -> None:
    _new()
    for changes, slug in (({"recipient": "a"}, "referral-to-self"), ({"accepts_referrals": False},
                          "recipient-not-accepting"), ({"kind": domain.Kind.TRANSFER}, "kind-not-accepted"),
                          ({"purpose": domain.Purpose.LEGAL_AID}, "purpose-not-accepted"),
                          ({"override_reason": "  "}, "override-reason-required")):
        with pytest.raises(InvalidInput) as refused:
            _new(**changes)
        assert refused.value.slug == slug


def test_candidates_are_ranked_by_state_then_subject_then_language_each_with_its_reason() -> None:
    facts = directory.ComplaintFacts.of({"respondent_states": ["it"], "incidents": [{"act_types": ["02.1"]}],
                                         "languages": {"preferred": "it", "spoken": ["fr"]}})
    assert facts == directory.ComplaintFacts(frozenset({"IT"}), frozenset({"02"}), frozenset({"it", "fr"}))
    areas = {"general": ("*",), "integrity": ("02",), "equality": ("06",)}

    def institution(iid: str, country: str, areas_: tuple[str, ...], languages: tuple[str, ...] = (),
                    countries: tuple[str, ...] = (), accepts: bool = True) -> directory.Institution:
        return directory.Institution(iid, iid.upper(), "nhri", country, languages, areas_, countries, accepts, True)

    ranked = directory.rank(facts, [
        institution("sender", "IT", ("general",)),
        institution("it_nhri", "IT", ("general",), ("it",)),
        institution("fr_equality", "FR", ("equality",), ("fr",)),
        institution("ngo", "ES", ("integrity",), ("es",), countries=("IT", "ES")),
        institution("closed", "IT", ("general",), accepts=False),
        institution("es_integrity", "ES", ("integrity",)),
    ], sender="sender", areas=areas)
    assert [c.institution.institution_id for c in ranked] == ["it_nhri", "ngo", "es_integrity"]
    assert [c.score for c in ranked] == [7, 6, 2]
    reasons = {r.criterion: r for r in ranked[2].reasons}
    assert not reasons["respondent_state"].matched and "does not act on IT" in reasons["respondent_state"].detail
    assert reasons["subject_matter"].matched and "integrity" in reasons["subject_matter"].detail
    unknown = directory.rank(facts, [institution("it_nhri", "IT", ("general",))], sender="x", areas={})
    assert not {r.criterion: r for r in unknown[0].reasons}["subject_matter"].matched


def test_a_deadline_s_title_names_who_must_act_and_fits_notifications_title() -> None:
    """Both sides get the referral's deadlines, so the title names the recipient by its directory name
    (issue 10's walkthrough: "the recipient is to acknowledge" on the sender's Today read as if the sender
    had to act); without a name it says "the recipient"; a name too long for notifications' title
    (max_length 500) is shortened, the verb kept."""
    from comitas_referral.referrals import deadlines

    rid = "a1703fe6-0000-4000-8000-000000000000"
    assert (deadlines.title(rid, deadlines.ACKNOWLEDGEMENT, "Demo Regional Human Rights Commission")
            == "Referral a1703fe6: Demo Regional Human Rights Commission is to acknowledge")
    assert (deadlines.title(rid, deadlines.RESPONSE, " Demo  Ombudsperson\nOffice ")
            == "Referral a1703fe6: Demo Ombudsperson Office is to accept or decline")
    for unknown in (None, "", "   "):
        assert (deadlines.title(rid, deadlines.ACKNOWLEDGEMENT, unknown)
                == "Referral a1703fe6: the recipient is to acknowledge")
        assert (deadlines.title(rid, deadlines.RESPONSE, unknown)
                == "Referral a1703fe6: the recipient is to accept or decline")
    long = deadlines.title(rid, deadlines.RESPONSE, "N" * 600)
    assert len(long) == deadlines.TITLE_LIMIT == 500
    assert long == f"Referral a1703fe6: {'N' * (500 - 19 - 24 - 1)}… is to accept or decline"
