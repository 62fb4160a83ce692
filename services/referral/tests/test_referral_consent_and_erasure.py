"""Issue 10, acceptance 2 and 6, the cases the other files leave out.

- A complaint with no consent at all for the recipient and purpose, referred without an override, is
  refused (409 ``consent-required`` with intake's reason per category) and nothing leaves: no grant at
  intake, no disclosure manifest in its audit log, no event in referral's outbox, no deadline at
  notifications, no webhook call; the recipient finds nothing at referral. Source: the victim's consent
  decides every disclosure (DESIGN §6, docs/adr/0017-consent-and-disclosures.md; issue 10: "Without
  consent the referral is refused").
- The override (Primero's ``consent_overridden``, issue 10, ADR 0017 and 0060): only a caller whose own
  token holds ``complaints:consent_override`` may, and only with a stated reason; intake's audit log
  records ``consent.overridden`` with the disclosure's manifest (what was refused and why, the reason),
  made by referral acting for the sender; both sides see that consent was overridden.
- Erasing the sender's complaint tells each recipient by event, through its own webhook subscription at
  notifications: intake's ``comitas.complaint.erased`` naming that recipient alone and its grant, and
  referral's ``comitas.referral.disclosure_revoked`` (cause ``complaint_erased``) for that recipient's
  referral; no event a recipient receives names another recipient, its referral or its grant (the
  catalogue: "no recipient learns who else held the case").
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from referral_testkit import (
    PASSPORT,
    RECIPIENT_PROFILE,
    REFERRAL,
    VICTIM_NAME,
    Party,
    client,
    close_parties,
    complaint,
    consent,
    new_party,
    refer,
    subscribe,
)
from sqlalchemy import select

from comitas_shared.db import Database
from comitas_shared.testing import eventually

PURPOSE = {"Comitas-Purpose": "examine the referred case"}
PROBLEMS = "https://comitas.dev/problems/"
NO_CONSENT = {"reason": "no_consent", "explanation": "no consent covers this recipient, purpose and category"}
REASON = "Imminent risk to life: the victim cannot be reached to consent."


@pytest.fixture
async def parties(stack, referral):
    a = await new_party(stack, referral, "Sender", country="FR")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    yield a, b
    await close_parties(a, b)


async def disclosures(party: Party, complaint_id: str) -> list[dict]:
    listed = await party.intake.get(f"/v1/complaints/{complaint_id}/disclosures")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


async def audit_of(party: Party) -> list[dict]:
    listed = await party.intake.get("/v1/audit", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


async def outbox_mentioning(referral, *needles: str) -> list[dict]:
    """The events referral staged (published or not) whose envelope names any of ``needles``."""
    from comitas_referral.models import tables

    database = Database(referral.database_url)
    try:
        async with database.engine.connect() as connection:
            rows = (await connection.execute(select(tables.outbox.c.envelope))).all()
    finally:
        await database.dispose()
    return [row.envelope for row in rows if any(n in json.dumps(row.envelope) for n in needles)]


async def test_a_complaint_without_any_consent_is_refused_and_nothing_reaches_the_recipient(stack, referral, parties,
                                                                                          receivers):
    a, b = parties
    a_hook, b_hook, _ = receivers
    for party, hook in ((a, a_hook), (b, b_hook)):
        await subscribe(stack, party, hook)
    complaint_id = await complaint(a)
    consents = await a.intake.get(f"/v1/complaints/{complaint_id}/consents")
    assert consents.status_code == 200 and consents.json()["items"] == []

    answer = await a.referral.post("/v1/referrals", headers={"Idempotency-Key": f"k-{uuid.uuid4().hex}"}, json={
        "complaint_id": complaint_id, "recipient_institution_id": b.id, "purpose": "investigate",
        "categories": ["identity", "narrative"], "message": "Please take this case up."})
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    refused = answer.json()
    rid = refused["referral_id"]
    assert refused == {
        "type": f"{PROBLEMS}consent-required", "title": "The victim's consent does not cover this referral",
        "status": 409, "instance": "/v1/referrals", "referral_id": rid,
        "detail": "the victim's consent does not cover identity, narrative for this recipient and purpose investigate",
        "refused": {"identity": NO_CONSENT, "narrative": NO_CONSENT}}

    # Nothing left intake: no grant, no manifest, no read of the victim's data for B.
    assert await disclosures(a, complaint_id) == []
    audit = await audit_of(a)
    assert [e for e in audit if e["action"] in ("disclosure.created", "consent.overridden")] == []
    assert [e for e in audit if b.id in json.dumps(e)] == []

    # The sender's own record of the attempt: failed, with intake's answer; no grant, receipt, message.
    mine = (await a.referral.get(f"/v1/referrals/{rid}")).json()
    assert (mine["state"], mine["side"], mine["consent_overridden"]) == ("failed", "sender", False)
    assert mine["failure"] == {"status": 409, "body": {k: v for k, v in refused.items() if k != "instance"}}
    assert (mine["packet"]["grant_id"], mine["packet"]["read_at"], mine["packet"]["salt"],
            mine["packet"]["digests"]) == (None, None, None, {})
    assert (mine["receipt_sequence"], mine["receipt_hash"], mine["sent_at"]) == (None, None, None)
    assert (await a.referral.get(f"/v1/referrals/{rid}/receipts")).json()["receipts"] == []
    assert (await a.referral.get(f"/v1/referrals/{rid}/transitions")).json()["items"] == []
    assert (await a.referral.get(f"/v1/referrals/{rid}/messages")).json()["items"] == []

    # The recipient finds nothing, and nothing was staged to tell it (no event, no deadline).
    for path in (f"/v1/referrals/{rid}", f"/v1/referrals/{rid}/transitions", f"/v1/referrals/{rid}/messages",
                 f"/v1/referrals/{rid}/receipts"):
        assert (await b.referral.get(path)).status_code == 404, path
    assert (await b.referral.get("/v1/referrals")).json()["items"] == []
    assert await outbox_mentioning(referral, rid, complaint_id) == []

    # A referral the victim consented to, sent afterwards, does reach both webhooks: by the time it has,
    # neither institution was told anything of the refused one.
    other = await complaint(a)
    await consent(a, other, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    control = (await refer(a, other, b))["id"]
    for hook in (a_hook, b_hook):
        await eventually(lambda hook=hook: "comitas.referral.sent" in hook.types(control), timeout=30)
        assert [e for e in hook.received if rid in json.dumps(e) or complaint_id in json.dumps(e)] == []
    async with await stack.client_for("notifications", b.credentials) as api:
        async def deadline_keys() -> list[str]:
            listed = await api.get("/v1/deadlines", params={"limit": 100})
            assert listed.status_code == 200, listed.text
            return sorted(d["deadline_key"] for d in listed.json()["items"])

        keys = await eventually(deadline_keys, timeout=20)
    assert keys == [f"referral:{control}:acknowledgement"]


async def test_an_override_needs_the_override_scope_and_a_reason_and_is_audited_with_the_manifest(stack, referral,
                                                                                              parties):
    a, b = parties
    complaint_id = await complaint(a)
    body = {"complaint_id": complaint_id, "recipient_institution_id": b.id, "purpose": "investigate",
            "categories": ["identity", "narrative"]}

    # Who may: only a caller whose own token holds complaints:consent_override (referral exchanges that
    # token at identity; it has no authority of its own to lend). The same institution, without it: 403.
    limited = Party(a.credentials, await client(stack, a.credentials, referral.served.url, REFERRAL,
                                                "referrals:read referrals:write complaints:read complaints:manage"),
                    a.intake)
    try:
        denied = await limited.referral.post("/v1/referrals", json={**body, "override_reason": REASON})
        assert denied.status_code == 403, denied.text
        [attempt] = (await a.referral.get("/v1/referrals")).json()["items"]
        assert denied.json() == {
            "type": f"{PROBLEMS}insufficient-scope", "title": "Insufficient scope", "status": 403,
            "detail": "this call needs complaints:consent_override complaints:manage on the caller's token: The "
                      "subject_token does not hold: complaints:consent_override",
            "instance": "/v1/referrals", "error": "insufficient_scope",
            "required_scopes": ["complaints:consent_override", "complaints:manage"], "referral_id": attempt["id"]}
        # The attempt is the sender's alone, failed with that answer (named in it, like every refused send).
        failed = (await a.referral.get(f"/v1/referrals/{attempt['id']}")).json()
        assert (failed["state"], failed["failure"]["status"], failed["packet"]["grant_id"]) == ("failed", 403, None)
        assert (await b.referral.get(f"/v1/referrals/{attempt['id']}")).status_code == 404
        assert await disclosures(a, complaint_id) == []
    finally:
        await limited.referral.aclose()

    # An override states its reason: a blank one is refused before anything is recorded or asked.
    before = (await a.referral.get("/v1/referrals")).json()["items"]
    blank = await a.referral.post("/v1/referrals", json={**body, "override_reason": "   "})
    assert blank.status_code == 422, blank.text
    assert blank.json()["errors"] == [{"detail": "String should have at least 1 character",
                                       "pointer": "/override_reason"}]
    assert (await a.referral.get("/v1/referrals")).json()["items"] == before
    assert await disclosures(a, complaint_id) == []
    assert (await b.referral.get("/v1/referrals")).json()["items"] == []

    # With the scope and a reason: shared, and both sides see that consent was overridden.
    sent = await refer(a, complaint_id, b, override_reason=REASON)
    rid, grant = sent["id"], sent["packet"]["grant_id"]
    assert (sent["state"], sent["consent_overridden"]) == ("sent", True)
    seen = (await b.referral.get(f"/v1/referrals/{rid}")).json()
    assert (seen["state"], seen["consent_overridden"]) == ("sent", True)
    packet = await b.intake.get(f"/v1/disclosures/{grant}", headers=PURPOSE)
    assert packet.status_code == 200 and sorted(packet.json()["data"]) == ["identity", "narrative"]

    # What is recorded: intake's consent.overridden and disclosure.created entries carry the same manifest
    # (to whom, what, for which purpose, on which basis, the refusal overridden and the reason), made by
    # referral's client acting for A.
    manifest = {"grant_id": grant, "recipient_institution_id": b.id, "recipient_kind": "nhri",
                "purpose": "investigate", "categories": ["identity", "narrative"], "basis": "override",
                "consent_record_ids": [], "salt": sent["packet"]["salt"], "digests": sent["packet"]["digests"],
                "override": {"reason": REASON, "refused": {"identity": "no_consent", "narrative": "no_consent"}}}
    audit = await audit_of(a)
    for action in ("consent.overridden", "disclosure.created"):
        entries = [e for e in audit if e["action"] == action]
        assert len(entries) == 1, (action, entries)
        assert entries[0]["details"] == manifest
        assert entries[0]["subject_id"] == complaint_id and entries[0]["purpose"] == "investigate"
        assert entries[0]["actor"] == {"sub": a.credentials.client_id, "client_id": a.credentials.client_id,
                                       "act": {"sub": referral.service.client_id}}


async def test_erasing_the_complaint_tells_each_recipient_by_event_naming_it_alone(stack, referral, parties,
                                                                                    receivers):
    a, b = parties
    c = await new_party(stack, referral, "Second recipient", country="IT", profile=RECIPIENT_PROFILE)
    _, b_hook, c_hook = receivers
    wanted = ("comitas.referral.*", "comitas.complaint.erased")
    for party, hook in ((b, b_hook), (c, c_hook)):
        await subscribe(stack, party, hook, wanted)
    try:
        complaint_id = await complaint(a)
        sent = {}
        for party in (b, c):
            await consent(a, complaint_id, party.id, purposes=["investigate"], categories=["identity", "narrative"])
            sent[party.id] = await refer(a, complaint_id, party)
        for party, hook in ((b, b_hook), (c, c_hook)):
            rid = sent[party.id]["id"]
            await eventually(lambda hook=hook, rid=rid: "comitas.referral.sent" in hook.types(rid), timeout=30)

        erased = await a.intake.post(f"/v1/complaints/{complaint_id}/erasure",
                                     json={"reason": "the victim asked for erasure", "requested_by": "victim"})
        assert erased.status_code == 200, erased.text
        erased_at = datetime.fromisoformat(erased.json()["erased_at"])

        for party, hook, other in ((b, b_hook, c), (c, c_hook, b)):
            mine, theirs = sent[party.id], sent[other.id]
            rid, grant = mine["id"], mine["packet"]["grant_id"]
            assert (await party.intake.get(f"/v1/disclosures/{grant}", headers=PURPOSE)).status_code == 410

            def of_type(event_type: str, subject: str, hook=hook) -> list[dict]:
                return [e for e in hook.received if e["type"] == event_type and e.get("subject") == subject]

            await eventually(lambda of_type=of_type, rid=rid: of_type("comitas.complaint.erased", complaint_id)
                             and of_type("comitas.referral.disclosure_revoked", rid), timeout=30)

            # intake's event: this recipient alone, with its grant, revoked.
            [told] = of_type("comitas.complaint.erased", complaint_id)
            assert (told["institutionid"], "concerns" in told) == (a.id, False)
            assert datetime.fromisoformat(told["data"].pop("erased_at").replace("Z", "+00:00")) == erased_at
            assert told["data"] == {"complaint_id": complaint_id, "institution_id": a.id,
                                    "recipients": [{"institution_id": party.id, "grant_ids": [grant]}]}

            # referral's event: this recipient's referral rests on a disclosure that is gone.
            [revoked] = of_type("comitas.referral.disclosure_revoked", rid)
            assert (revoked["institutionid"], "concerns" in revoked) == (a.id, False)
            assert revoked["data"] == {
                "referral_id": rid, "state": "sent", "kind": "referral", "purpose": "investigate",
                "complaint_id": complaint_id, "sender_institution_id": a.id, "recipient_institution_id": party.id,
                "receipt_sequence": mine["receipt_sequence"], "receipt_hash": mine["receipt_hash"],
                "grant_id": grant, "cause": "complaint_erased"}

            # Nothing this recipient received names the other recipient, its referral or its grant, nor
            # anything of the victim.
            received = json.dumps(hook.received, ensure_ascii=False)
            for secret in (other.id, theirs["id"], theirs["packet"]["grant_id"], VICTIM_NAME, PASSPORT):
                assert secret not in received, secret

            seen = (await party.referral.get(f"/v1/referrals/{rid}")).json()
            assert seen["packet"]["revoked"] == "complaint_erased"
            thread = (await party.referral.get(f"/v1/referrals/{rid}/messages")).json()["items"]
            assert [m["author"] for m in thread] == ["system"] and "erased" in thread[0]["body"]
    finally:
        await close_parties(c)
