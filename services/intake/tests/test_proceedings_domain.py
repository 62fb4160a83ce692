"""The proceedings domain, pure: steps open and meet limits as their data says, the body's own days are
entered, and every interim-measures state × action."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from comitas_intake.proceedings import domain
from comitas_intake.proceedings.rules import shipped_procedures
from comitas_shared.errors import InvalidInput, InvalidTransition

PROCEDURES = shipped_procedures()
ECHR = PROCEDURES.for_body("echr")
NOW = datetime(2027, 6, 1, tzinfo=UTC)
TODAY = date(2027, 6, 1)


def step(kind, on, *, open_limits=(), set_days=None, procedure=ECHR, filing_status="registered"):
    return domain.record_step(procedure, filing_status=filing_status, kind=kind, on=on, today=TODAY, set_days=set_days or {},
                              open_limits=open_limits, filing_id="f1", complaint_id="c1", institution_id="i1",
                              mechanism="echr", concerns=None, now=NOW, source="test")


def test_a_chamber_judgment_opens_the_grand_chamber_referral_limit_and_finality_meets_it():
    judged = step("chamber_judgment", date(2027, 1, 31))
    assert [(o.limit.deadline, o.last_day) for o in judged.opened] == [("grand_chamber_referral", date(2027, 4, 30))]
    assert judged.events[0].data["rule"]["provision"] == "ECHR Arts 43 and 44 §2" and judged.events[0].data["hard"]
    final = step("judgment_final", date(2027, 5, 1), open_limits={"grand_chamber_referral"})
    assert final.met == ("grand_chamber_referral",)
    assert {o.limit.deadline: o.last_day for o in final.opened} == {
        "just_satisfaction": date(2027, 8, 1), "action_plan": date(2027, 11, 1)}
    # Periods not seen in a retrieved text are reminders, not hard limits.
    assert all(not e.data["hard"] for e in final.events if e.type == "comitas.deadline.requested")
    assert [e.data["reason"] for e in final.events if e.type == "comitas.deadline.withdrawn"] == ["met"]


def test_a_limit_set_by_the_body_needs_its_day():
    with pytest.raises(InvalidInput):
        step("communicated", date(2027, 2, 1))
    done = step("communicated", date(2027, 2, 1), set_days={"observations": date(2027, 5, 3)})
    assert {o.limit.deadline: o.last_day for o in done.opened} == {
        "friendly_settlement": date(2027, 4, 26), "observations": date(2027, 5, 3)}
    for bad in ({"observations": date(2027, 1, 1)}, {"observations": date(2027, 5, 3), "nothing": date(2027, 5, 3)}):
        with pytest.raises(InvalidInput):
            step("communicated", date(2027, 2, 1), set_days=bad)


@pytest.mark.parametrize("status", ["preparing", "ready", "filed", "registered", "decided", "rejected", "withdrawn"])
def test_steps_need_a_lodged_filing(status):
    if status in domain.FILED:
        assert step("chamber_judgment", date(2027, 1, 31), filing_status=status).opened
    else:
        with pytest.raises(InvalidTransition):
            step("chamber_judgment", date(2027, 1, 31), filing_status=status)


def test_unknown_steps_and_future_days_are_refused():
    with pytest.raises(InvalidInput):
        step("opinion_adopted", date(2027, 1, 1))
    with pytest.raises(InvalidInput):
        step("chamber_judgment", date(2027, 7, 1))


def test_every_body_s_limits_are_met_by_a_step():
    for procedure in PROCEDURES.procedure:
        opened = {o.deadline for s in procedure.step for o in s.opens}
        met = {m for s in procedure.step for m in s.meets}
        assert opened <= met, (procedure.id, opened - met)


STATES = [None, *domain.Interim]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(domain.InterimAction))
def test_every_interim_state_and_action(state, action):
    allowed, target = domain.INTERIM[action]
    channel = "r39_site" if action is domain.InterimAction.REQUEST else None
    if state not in allowed:
        with pytest.raises(InvalidTransition):
            domain.interim_transition(ECHR, state=state, action=action, channel=channel, on=TODAY, today=TODAY)
        return
    assert domain.interim_transition(ECHR, state=state, action=action, channel=channel, on=TODAY,
                                     today=TODAY) is target


def test_a_rule_39_request_is_never_by_email_and_needs_a_channel():
    with pytest.raises(InvalidInput) as caught:
        domain.interim_transition(ECHR, state=None, action=domain.InterimAction.REQUEST, channel="email", on=TODAY,
                                  today=TODAY)
    assert "never by e-mail" in caught.value.detail
    for channel in (None, "pigeon"):
        with pytest.raises(InvalidInput):
            domain.interim_transition(ECHR, state=None, action=domain.InterimAction.REQUEST, channel=channel,
                                      on=TODAY, today=TODAY)
    with pytest.raises(InvalidInput):
        domain.interim_transition(ECHR, state="requested", action=domain.InterimAction.GRANT, channel="fax", on=TODAY,
                                  today=TODAY)
    with pytest.raises(InvalidInput):
        domain.interim_transition(PROCEDURES.for_body("sp"), state=None, action=domain.InterimAction.REQUEST,
                                  channel="email", on=TODAY, today=TODAY)
