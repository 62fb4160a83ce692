"""The full lifecycle between two central authorities over the API: every transition is an event that
concerns both, and reaches the other side's signed webhook."""

from __future__ import annotations

from datetime import date, timedelta

from mla_testkit import EIO_REQUEST, UNTOC_REQUEST, act, body, create, subscribe

from comitas_shared.testing import eventually
from tests.webhooks import verify

RESULT = b"account;date;amount\nDE00 1234 5678;2024-03-01;10000.00\n"


def at_other_side(receiver, request_id: str, event_type: str, count: int = 1):
    return lambda: receiver.types(request_id).count(event_type) >= count


async def test_issue_to_execution_each_event_reaching_the_other_side(stack, authorities, receivers) -> None:
    fr, de = await authorities.new("FR"), await authorities.new("DE")
    fr_hook, de_hook, _ = receivers
    fr_secret = await subscribe(stack, fr, fr_hook)
    de_secret = await subscribe(stack, de, de_hook)
    request = await create(fr.api, body(EIO_REQUEST, de))
    rid = request["id"]

    steps = [
        (fr, "issue", None, de_hook, "comitas.mla.issued", "issued"),
        (de, "acknowledge", {"note": "Annex B sent"}, fr_hook, "comitas.mla.acknowledged", "acknowledged"),
        (de, "clarification-requests", {"questions": "Which accounts exactly?"}, fr_hook,
         "comitas.mla.clarification_requested", "clarification_requested"),
        (fr, "clarifications", {"answer": "Only the current account.", "changes": {"procedures": "Certified copies."}},
         de_hook, "comitas.mla.clarified", "clarified"),
        (de, "recognise", None, fr_hook, "comitas.mla.recognised", "recognised"),
    ]
    for side, action, payload, other_hook, event_type, state in steps:
        after = await act(side.api, rid, action, payload)
        assert after["state"] == state
        await eventually(at_other_side(other_hook, rid, event_type), timeout=10)

    uploaded = await de.api.post(f"/v1/requests/{rid}/results", content=RESULT,
                                 params={"filename": "statements.csv", "partial": "true"},
                                 headers={"content-type": "text/csv"})
    assert uploaded.status_code == 201, uploaded.text
    assert (await fr.api.get(f"/v1/requests/{rid}")).json()["state"] == "in_execution"
    await eventually(at_other_side(fr_hook, rid, "comitas.mla.result_returned"), timeout=10)

    asked = await fr.api.post(f"/v1/requests/{rid}/status-requests", json={"message": "Any news?"})
    assert asked.status_code == 201
    await eventually(at_other_side(de_hook, rid, "comitas.mla.status_requested"), timeout=10)
    open_ones = (await de.api.get(f"/v1/requests/{rid}")).json()["status_requests"]
    assert [s["answered_at"] for s in open_ones] == [None]
    answered = await de.api.post(f"/v1/requests/{rid}/status-requests/{asked.json()['id']}/answer",
                                 json={"answer": "The bank answers next week."})
    assert answered.status_code == 200 and answered.json()["answered_by"] == "answer_status"
    await eventually(at_other_side(fr_hook, rid, "comitas.mla.status_answered"), timeout=10)

    until = (date.today() + timedelta(days=20)).isoformat()
    assert (await act(de.api, rid, "postpone", {"reason": "A domestic search is under way.", "until": until}))["state"] == "postponed"
    await eventually(at_other_side(fr_hook, rid, "comitas.mla.postponed"), timeout=10)
    assert (await act(de.api, rid, "resume"))["state"] == "in_execution"
    await eventually(at_other_side(fr_hook, rid, "comitas.mla.resumed"), timeout=10)
    done = await act(de.api, rid, "execute", {"note": "All statements returned."})
    assert done["state"] == "executed" and done["closed_at"]
    await eventually(at_other_side(fr_hook, rid, "comitas.mla.executed"), timeout=10)

    # Each side received the other's events, signed with its own secret, and its own as well (both concerned).
    for hook, secret in ((fr_hook, fr_secret), (de_hook, de_secret)):
        deliveries = [r for r in hook.received if b'"comitas.mla.' in r["body"]]
        assert deliveries and all(verify(secret, r["headers"], r["body"]) for r in deliveries)
    mla_types = {t for t in fr_hook.types(rid) if t.startswith("comitas.mla.")}
    assert mla_types >= {"comitas.mla.issued", "comitas.mla.acknowledged", "comitas.mla.clarification_requested",
                         "comitas.mla.clarified", "comitas.mla.recognised", "comitas.mla.result_returned",
                         "comitas.mla.executed", "comitas.mla.postponed"}
    executed = next(e for e in fr_hook.events(rid) if e["type"] == "comitas.mla.executed")
    assert executed["data"]["requesting_institution_id"] == fr.institution_id
    assert executed["data"]["requested_institution_id"] == de.institution_id
    assert "concerns" not in executed  # one recipient does not learn who else was concerned

    history = (await fr.api.get(f"/v1/requests/{rid}/transitions", params={"limit": 100})).json()["items"]
    assert [h["action"] for h in history] == ["issue", "acknowledge", "request_clarification", "clarify", "recognise",
                                              "return_result", "request_status", "answer_status", "postpone",
                                              "resume", "execute"]
    # A closed request takes no more action.
    assert (await de.api.post(f"/v1/requests/{rid}/refuse", json={"grounds": [
        {"code": "ne_bis_in_idem", "text": "x"}]})).status_code == 409


async def test_a_refusal_must_cite_a_ground_of_the_basis(stack, authorities, receivers) -> None:
    fr, br = await authorities.new("FR"), await authorities.new("BR")
    fr_hook, _, _ = receivers
    await subscribe(stack, fr, fr_hook)
    request = await create(fr.api, body(UNTOC_REQUEST, br))
    rid = request["id"]
    await act(fr.api, rid, "issue")
    # An EIO ground is not a UNTOC ground: 422, and nothing changes.
    wrong = await br.api.post(f"/v1/requests/{rid}/refuse", json={"grounds": [
        {"code": "fundamental_rights", "text": "Incompatible with the Charter."}]})
    assert wrong.status_code == 422 and wrong.json()["type"].endswith("/refusal-ground-not-in-basis")
    assert "essential_interests" in wrong.json()["allowed"]
    assert (await fr.api.get(f"/v1/requests/{rid}")).json()["state"] == "issued"
    none = await br.api.post(f"/v1/requests/{rid}/refuse", json={"grounds": []})
    assert none.status_code == 422
    # The requesting side cannot refuse its own request.
    assert (await fr.api.post(f"/v1/requests/{rid}/refuse", json={"grounds": [
        {"code": "essential_interests", "text": "x"}]})).status_code == 409
    refused = await act(br.api, rid, "refuse", {"grounds": [
        {"code": "domestic_law_bars", "text": "Our law forbids this measure for a similar offence."}]})
    assert refused["state"] == "refused"
    assert refused["outcome"]["refused"]["grounds"][0]["provision"] == "UNTOC Art 18(21)(c)"
    assert [d["state"] for d in refused["deadlines"]] == ["met"]
    await eventually(at_other_side(fr_hook, rid, "comitas.mla.refused"), timeout=10)
    event = next(e for e in fr_hook.events(rid) if e["type"] == "comitas.mla.refused")
    assert event["data"]["grounds"] == ["domestic_law_bars"]


async def test_the_requesting_side_withdraws_and_the_requested_side_is_told(stack, authorities, receivers) -> None:
    fr, de = await authorities.new("FR"), await authorities.new("DE")
    _, de_hook, _ = receivers
    await subscribe(stack, de, de_hook)
    rid = (await create(fr.api, body(EIO_REQUEST, de)))["id"]
    await act(fr.api, rid, "issue")
    assert (await de.api.post(f"/v1/requests/{rid}/withdraw", json={"reason": "x"})).status_code == 409
    withdrawn = await act(fr.api, rid, "withdraw", {"reason": "The suspect was arrested in France."})
    assert withdrawn["state"] == "withdrawn"
    assert {d["state"] for d in withdrawn["deadlines"]} == {"withdrawn"}
    await eventually(at_other_side(de_hook, rid, "comitas.mla.withdrawn"), timeout=10)
    # The deadlines it was watching are withdrawn for the requested authority too.
    await eventually(lambda: de_hook.types(rid).count("comitas.deadline.withdrawn") >= 2, timeout=10)
