"""EIO deadlines counted in the executing state's calendar and time zone, announced to notifications
(``comitas.deadline.requested``), met by the transitions that answer them, moved by an Art 12(5)
extension, and consulted on under Art 12(6)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from mla_testkit import EIO_REQUEST, UNTOC_REQUEST, act, body, create, deadlines_at_notifications

from comitas_shared.clock import FixedClock
from comitas_shared.testing import eventually

# Friday 14 May 2027, 10:00 in Berlin: the Monday after (17 May) is Whit Monday, a German public holiday.
RECEIVED = datetime(2027, 5, 14, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock(stack) -> Iterator[FixedClock]:
    platform = stack.mla.app.state.platform
    pinned = FixedClock(RECEIVED)
    previous, platform.clock = platform.clock, pinned
    try:
        yield pinned
    finally:
        platform.clock = previous


async def watched(stack, authority, request_id: str, expected: dict[str, str]):
    """The request's deadlines at notifications once they show ``expected`` ({limit: last day})."""
    async def check():
        found = await deadlines_at_notifications(stack, authority, f"mla:{request_id}:")
        days = {key.rsplit(":", 1)[1]: d["last_day"] for key, d in found.items()}
        return found if all(days.get(k) == v for k, v in expected.items()) else None
    return await eventually(check, timeout=10)


async def test_eio_received_on_a_friday_before_a_holiday(stack, authorities, clock) -> None:
    fr, de = await authorities.new("FR"), await authorities.new("DE")
    rid = (await create(fr.api, body(EIO_REQUEST, de)))["id"]
    issued = await act(fr.api, rid, "issue")
    mine = {d["limit_id"]: d for d in issued["deadlines"]}
    assert mine["acknowledgement"]["last_day"] == "2027-05-21" and mine["acknowledgement"]["time_zone"] == "Europe/Berlin"
    assert mine["recognition"]["last_day"] == "2027-06-14"
    assert "execution" not in mine

    for side in (de, fr):  # the requested authority must act; the requesting one follows up
        found = await watched(stack, side, rid, {"acknowledgement": "2027-05-21", "recognition": "2027-06-14"})
        ack, recognition = found[f"mla:{rid}:acknowledgement"], found[f"mla:{rid}:recognition"]
        assert ack["time_zone"] == "Europe/Berlin" and ack["case_kind"] == "mla_request" and ack["hard"] is True
        assert datetime.fromisoformat(ack["due_at"]) == datetime(2027, 5, 21, 21, 59, 59, 999000, tzinfo=UTC)
        assert ack["rule"]["provision"] == "Directive 2014/41/EU Art 16(1); Annex B"
        assert recognition["rule"]["provision"] == "Directive 2014/41/EU Art 12(3)"
        assert "next working day" in recognition["calendar"] and "DE" in recognition["calendar"]

    # Acknowledged: that limit is met (closed at notifications); recognition still runs.
    clock.set(datetime(2027, 5, 18, 9, 0, tzinfo=UTC))
    await act(de.api, rid, "acknowledge")

    async def ack_closed():
        found = await deadlines_at_notifications(stack, de, f"mla:{rid}:")
        return found[f"mla:{rid}:acknowledgement"]["state"] != "open" and found
    found = await eventually(ack_closed, timeout=10)
    assert found[f"mla:{rid}:acknowledgement"]["closed_reason"] == "met"
    assert found[f"mla:{rid}:recognition"]["state"] == "open"

    # Art 12(5): extended by at most 30 days in all, each time with a reason.
    extended = await act(de.api, rid, "recognition-extensions", {"days": 10, "reason": "The bank is slow to answer."})
    assert {d["limit_id"]: d["last_day"] for d in extended["deadlines"]}["recognition"] == "2027-06-23"
    beyond = await de.api.post(f"/v1/requests/{rid}/recognition-extensions", json={"days": 21, "reason": "Longer."})
    assert beyond.status_code == 422 and beyond.json()["type"].endswith("/extension-beyond-cap")
    assert beyond.json()["cap_last_day"] == "2027-07-13"
    assert (await fr.api.post(f"/v1/requests/{rid}/recognition-extensions",
                              json={"days": 5, "reason": "x"})).status_code == 409
    await watched(stack, de, rid, {"recognition": "2027-06-23"})
    history = (await fr.api.get(f"/v1/requests/{rid}/transitions")).json()["items"]
    extension = next(h for h in history if h["action"] == "extend_recognition")
    assert extension["details"]["reason"] == "The bank is slow to answer."
    assert (extension["details"]["from"], extension["details"]["to"]) == ("2027-06-14", "2027-06-23")
    assert extension["details"]["provision"] == "Directive 2014/41/EU Art 12(5)"

    # Recognised on Tuesday 18 May: recognition met, execution counted from the decision (Art 12(4)).
    recognised = await act(de.api, rid, "recognise")
    limits = {d["limit_id"]: d for d in recognised["deadlines"]}
    assert limits["recognition"]["state"] == "met" and limits["execution"]["last_day"] == "2027-08-16"
    found = await watched(stack, de, rid, {"execution": "2027-08-16"})
    assert found[f"mla:{rid}:execution"]["rule"]["provision"] == "Directive 2014/41/EU Art 12(4)"

    # Art 12(6): the 90 days cannot be met: inform and consult, with an estimate; no fixed extension.
    consulted = await act(de.api, rid, "execution-consultations", {
        "reason": "The bank's records are archived abroad.", "estimated_date": "2027-09-30"})
    limits = {d["limit_id"]: d for d in consulted["deadlines"]}
    assert limits["execution"]["last_day"] == "2027-08-16" and limits["execution"]["state"] == "open"
    assert limits["execution_estimate"]["last_day"] == "2027-09-30" and limits["execution_estimate"]["hard"] is False
    assert consulted["outcome"]["consultations"][0]["provision"] == "Directive 2014/41/EU Art 12(6)"
    await watched(stack, fr, rid, {"execution_estimate": "2027-09-30"})


async def test_only_the_eio_has_an_extension_or_a_consultation(stack, authorities, clock) -> None:
    fr, br = await authorities.new("FR"), await authorities.new("BR")
    rid = (await create(fr.api, body(UNTOC_REQUEST, br, urgency={"urgent": True, "reasons": "Trial in September.",
                                                                 "requested_date": "2027-08-31"})))["id"]
    issued = await act(fr.api, rid, "issue")
    assert [(d["limit_id"], d["kind"], d["last_day"], d["hard"]) for d in issued["deadlines"]] == [
        ("execution", "requested_date", "2027-08-31", False)]
    refused = await br.api.post(f"/v1/requests/{rid}/recognition-extensions", json={"days": 5, "reason": "x"})
    assert refused.status_code == 409 and refused.json()["type"].endswith("/no-extension-under-basis")
    await watched(stack, fr, rid, {"execution": "2027-08-31"})


async def test_a_confidential_request_deadline_names_neither_basis_nor_reference(stack, authorities, clock) -> None:
    fr, de = await authorities.new("FR"), await authorities.new("DE")
    draft = await create(fr.api, body(EIO_REQUEST, de, confidentiality_reasons="Ongoing covert investigation.")
                         | {"confidential": True})
    await act(fr.api, draft["id"], "issue")
    found = await watched(stack, de, draft["id"], {"acknowledgement": "2027-05-21"})
    for deadline in found.values():
        assert draft["reference"] not in deadline["title"] and deadline["mechanism"] is None
        assert deadline["rule"] == {} and deadline["case_ref"] == draft["id"]
