"""Sending a referral (issue 10, acceptance 2, 3 and 8): without consent it is refused with intake's reason and
nothing is disclosed; an override with a reason works and is in intake's audit log with the manifest; a
failed call to intake leaves no disclosure and a retry with the same key resumes the same referral; an
illegal transition changes nothing; a withdrawal racing an acceptance: exactly one wins."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from referral_testkit import (
    RECIPIENT_PROFILE,
    act,
    close_parties,
    complaint,
    consent,
    new_party,
    refer,
)

from comitas_shared.idempotency import _in_use
from comitas_shared.testing import ServedApp


@pytest.fixture
async def parties(stack, referral):
    a = await new_party(stack, referral, "Sender", country="FR")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    yield a, b
    await close_parties(a, b)


async def disclosures(party, complaint_id: str) -> list[dict]:
    listed = await party.intake.get(f"/v1/complaints/{complaint_id}/disclosures")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


async def test_without_consent_the_referral_is_refused_with_the_reason_and_nothing_is_shared(parties):
    a, b = parties
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["narrative"])
    key = f"k-{uuid.uuid4().hex}"
    refused = await refer(a, complaint_id, b, status=409, key=key)
    assert refused["type"].endswith("/consent-required")
    assert refused["refused"]["identity"]["reason"] == "no_consent" and "narrative" not in refused["refused"]
    assert await disclosures(a, complaint_id) == []
    mine = (await a.referral.get(f"/v1/referrals/{refused['referral_id']}")).json()
    assert mine["state"] == "failed" and mine["failure"]["status"] == 409 and mine["packet"]["grant_id"] is None
    assert (await b.referral.get(f"/v1/referrals/{refused['referral_id']}")).status_code == 404
    assert (await b.referral.get("/v1/referrals")).json()["items"] == []
    again = await a.referral.post("/v1/referrals", headers={"Idempotency-Key": key}, json={
        "complaint_id": complaint_id, "recipient_institution_id": b.id, "purpose": "investigate",
        "categories": ["identity", "narrative"]})
    assert again.status_code == 409 and again.json()["referral_id"] == refused["referral_id"]
    # A transfer needs consent to the transfer itself: consent to investigate is not enough.
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    transfer = await refer(a, complaint_id, b, status=409, kind="transfer")
    assert transfer["type"].endswith("/consent-required")
    assert await disclosures(a, complaint_id) == []


async def test_an_override_with_a_reason_is_shared_and_audited_with_the_manifest(parties):
    a, b = parties
    complaint_id = await complaint(a)
    sent = await refer(a, complaint_id, b, override_reason="Imminent risk to life: the victim cannot be reached.")
    assert sent["state"] == "sent" and sent["consent_overridden"] is True
    audit = (await a.intake.get("/v1/audit", params={"limit": 50})).json()["items"]
    overridden = [e for e in audit if e["action"] == "consent.overridden"]
    assert overridden and overridden[0]["details"]["grant_id"] == sent["packet"]["grant_id"]
    assert overridden[0]["details"]["override"]["reason"].startswith("Imminent risk")
    assert sorted(overridden[0]["details"]["digests"]) == ["identity", "narrative"]


async def test_an_illegal_transition_is_409_and_changes_nothing(parties):
    a, b = parties
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    rid = (await refer(a, complaint_id, b))["id"]
    before = (await b.referral.get(f"/v1/referrals/{rid}")).json()
    for party, action, body in ((b, "accept", None), (a, "acknowledge", None), (b, "withdraw", None),
                                (a, "close", {"outcome": "resolved"}), (a, "decline", {"reason": "other"})):
        refused = await party.referral.post(f"/v1/referrals/{rid}/{action}", json=body)
        assert refused.status_code == 409, (action, refused.text)
    provide = await a.referral.post(f"/v1/referrals/{rid}/messages", json={"body": "x", "answers": "nope"})
    assert provide.status_code == 409
    assert (await b.referral.get(f"/v1/referrals/{rid}")).json() == before


async def test_a_withdrawal_racing_an_acceptance_exactly_one_wins(parties):
    a, b = parties
    for _ in range(3):
        complaint_id = await complaint(a)
        await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
        rid = (await refer(a, complaint_id, b))["id"]
        await act(b, rid, "acknowledge")
        withdrawn, accepted = await asyncio.gather(a.referral.post(f"/v1/referrals/{rid}/withdraw"),
                                                   b.referral.post(f"/v1/referrals/{rid}/accept"))
        statuses = sorted([withdrawn.status_code, accepted.status_code])
        assert statuses == [200, 409], (withdrawn.text, accepted.text)
        final = (await a.referral.get(f"/v1/referrals/{rid}")).json()
        winner = "withdrawn" if withdrawn.status_code == 200 else "accepted"
        assert final["state"] == winner
        transitions = (await a.referral.get(f"/v1/referrals/{rid}/transitions")).json()["items"]
        assert [t["action"] for t in transitions][-1] in ("withdraw", "accept")
        assert len([t for t in transitions if t["action"] in ("withdraw", "accept")]) == 1
        receipts = (await a.referral.get(f"/v1/referrals/{rid}/receipts")).json()["receipts"]
        assert [r["sequence"] for r in receipts] == list(range(1, len(receipts) + 1))
        assert receipts[-1]["hash"] == final["receipt_hash"]


class FlakyIntake:
    """intake behind a proxy that, while ``failing``, answers 502 to the disclosure call: after passing
    it on (``answer_lost``) or without passing it on (intake unreachable); while ``in_use``, it answers
    as intake does when an earlier call with the same Idempotency-Key is still running there."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.failing = 0
        self.answer_lost = False
        self.in_use = 0
        self.served = ServedApp(self._app())

    def _app(self):
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def forward(request: Request) -> Response:
            body = await request.body()
            disclosing = request.method == "POST" and request.url.path.endswith("/disclosures")
            if disclosing and self.failing and not self.answer_lost:
                self.failing -= 1
                return Response(status_code=502)
            if disclosing and self.in_use:
                self.in_use -= 1
                problem = _in_use()
                return Response(json.dumps(problem.body()), status_code=problem.status,
                                media_type="application/problem+json")
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            async with httpx.AsyncClient(base_url=self.target, timeout=30) as http:
                answer = await http.request(request.method, request.url.path, params=request.query_params,
                                            content=body, headers=headers)
            if disclosing and self.failing and self.answer_lost:
                self.failing -= 1
                return Response(status_code=502)
            return Response(answer.content, status_code=answer.status_code,
                            media_type=answer.headers.get("content-type"))

        return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "DELETE", "PATCH"])])


@pytest.fixture
async def flaky(stack, referral):
    proxy = FlakyIntake(stack.intake.url)
    await proxy.served.start()
    intake = referral.app.state.intake
    original, intake.base = intake.base, proxy.served.url
    yield proxy
    intake.base = original
    await proxy.served.stop()


async def test_a_failed_call_to_intake_leaves_no_disclosure_and_the_retry_resumes_the_same_referral(parties, flaky):
    a, b = parties
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    key = f"k-{uuid.uuid4().hex}"
    flaky.failing = 2  # the call and its immediate retry
    failed = await refer(a, complaint_id, b, status=503, key=key, message="Over to you.")
    assert failed["type"].endswith("/referral-send-incomplete")
    assert await disclosures(a, complaint_id) == []
    pending = (await a.referral.get(f"/v1/referrals/{failed['referral_id']}")).json()
    assert pending["state"] == "sending"
    assert (await b.referral.get(f"/v1/referrals/{failed['referral_id']}")).status_code == 404

    sent = await refer(a, complaint_id, b, key=key, message="Over to you.")
    assert sent["id"] == failed["referral_id"] and sent["state"] == "sent"
    assert [d["grant_id"] for d in await disclosures(a, complaint_id)] == [sent["packet"]["grant_id"]]
    again = await refer(a, complaint_id, b, key=key, message="Over to you.")
    assert again["id"] == sent["id"]
    thread = (await b.referral.get(f"/v1/referrals/{sent['id']}/messages")).json()["items"]
    assert [m["body"] for m in thread] == ["Over to you."]


async def test_a_disclosure_still_running_at_intake_is_not_a_refusal_and_the_retry_sends(parties, flaky):
    """intake's 409 for a key still being processed (a retry overtaking a slow first attempt) leaves the
    outcome unknown: referral answers 503 with the referral to resume, never a refusal that fails it."""
    a, b = parties
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    key = f"k-{uuid.uuid4().hex}"
    flaky.in_use = 2  # the call and its immediate retry
    pending = await refer(a, complaint_id, b, status=503, key=key)
    assert pending["type"].endswith("/referral-send-incomplete")
    assert (await a.referral.get(f"/v1/referrals/{pending['referral_id']}")).json()["state"] == "sending"
    sent = await refer(a, complaint_id, b, key=key)
    assert sent["id"] == pending["referral_id"] and sent["state"] == "sent"
    assert [d["grant_id"] for d in await disclosures(a, complaint_id)] == [sent["packet"]["grant_id"]]


async def test_an_answer_lost_on_the_way_back_is_answered_again_with_the_same_disclosure(parties, flaky):
    a, b = parties
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    flaky.failing, flaky.answer_lost = 1, True
    sent = await refer(a, complaint_id, b)
    assert sent["state"] == "sent"
    assert [d["grant_id"] for d in await disclosures(a, complaint_id)] == [sent["packet"]["grant_id"]]


async def test_the_worker_fails_a_send_that_never_completed(stack, referral, parties, flaky):
    a, b = parties
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    flaky.failing = 2
    failed = await refer(a, complaint_id, b, status=503, key=f"k-{uuid.uuid4().hex}")
    worker = referral.app.state.sending_worker
    from datetime import timedelta

    from comitas_shared.clock import real_now

    assert await worker.run_once(real_now() + timedelta(hours=1)) >= 1
    mine = (await a.referral.get(f"/v1/referrals/{failed['referral_id']}")).json()
    assert mine["state"] == "failed" and mine["failure"]["status"] == 503
    assert await disclosures(a, complaint_id) == []


async def test_referral_acts_at_intake_only_with_what_the_caller_s_token_holds(stack, referral):
    """The caller's token lacks complaints:manage: intake is not asked to disclose anything (403)."""
    a = await new_party(stack, referral, "Sender", country="FR", scope="referrals:write referrals:read complaints:read")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    try:
        complaint_id = await complaint(a)
        await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
        refused = await refer(a, complaint_id, b, status=403)
        assert refused["error"] == "insufficient_scope" and "complaints:manage" in refused["required_scopes"]
        assert await disclosures(a, complaint_id) == []
    finally:
        await close_parties(a, b)
