"""Issue 10, acceptance 1 and 2: institution A refers a complaint to B with the victim's consent; B sees it,
reads the packet from intake itself (exactly the consented categories, audited), acknowledges, asks for
information, A answers in the thread, B accepts; both get every event by webhook; a third institution
finds nothing, neither at referral nor at intake; referral's database holds no identifying data. The
history (``.../transitions``) holds exactly the lifecycle's steps: a send with a message is one step
(sending → sent), its message the thread's, attested by a receipt of its own (issue 10's walkthrough:
no duplicate-looking "sent → sent")."""

from __future__ import annotations

import uuid

from referral_testkit import (
    NARRATIVE,
    PASSPORT,
    RECIPIENT_PROFILE,
    VICTIM_NAME,
    act,
    close_parties,
    complaint,
    consent,
    database_dump,
    new_party,
    refer,
    subscribe,
)

from comitas_shared.testing import eventually

PURPOSE = {"Comitas-Purpose": "examine the referred case"}
SENDER_PROFILE = {"time_zone": "Europe/Paris", "languages": ["fr"], "accepts_referrals": True,
                  "referral_kinds": ["referral"], "referral_purposes": ["investigate"],
                  "mandate": {"subject_areas": ["general"], "countries": ["FR"]}}


async def test_refer_read_acknowledge_ask_answer_accept_with_every_event_at_both_sides(stack, referral, receivers):
    a = await new_party(stack, referral, "Sender ombudsperson", country="FR", kind="ombudsperson",
                        profile=SENDER_PROFILE)
    b = await new_party(stack, referral, "Recipient NHRI", country="IT", profile=RECIPIENT_PROFILE)
    c = await new_party(stack, referral, "Third NHRI", country="IT", profile=RECIPIENT_PROFILE)
    a_hook, b_hook, c_hook = receivers
    for party, hook in ((a, a_hook), (b, b_hook), (c, c_hook)):
        await subscribe(stack, party, hook)
    try:
        complaint_id = await complaint(a)
        await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])

        found = await a.referral.get("/v1/referrals/candidates", params={"complaint_id": complaint_id})
        assert found.status_code == 200, found.text
        candidates = {item["institution_id"]: item for item in found.json()["items"]}
        assert b.id in candidates and a.id not in candidates
        reasons = {r["criterion"]: r for r in candidates[b.id]["reasons"]}
        assert reasons["respondent_state"]["matched"] and "IT" in reasons["respondent_state"]["detail"]
        assert (await c.referral.get("/v1/referrals/candidates",
                                     params={"complaint_id": complaint_id})).status_code == 404

        key = f"send-{uuid.uuid4().hex}"
        sent = await refer(a, complaint_id, b, key=key, message="Please take this case up.")
        rid = sent["id"]
        assert sent["state"] == "sent" and sent["side"] == "sender"
        assert sorted(sent["packet"]["digests"]) == ["identity", "narrative"] and sent["packet"]["grant_id"]
        assert "time limits keep running" in sent["packet"]["notice"]
        assert sent["receipt_sequence"] >= 1 and len(sent["receipt_hash"]) == 64
        assert sent["possible_duplicate_here"] is None
        # The send is one step of the history, sending → sent by the sender; the message it carried is the
        # thread's (attested by its own receipt), not a second step "sent → sent".
        history = (await a.referral.get(f"/v1/referrals/{rid}/transitions")).json()["items"]
        assert history == [{"id": f"{rid[:24]}-{1:011d}", "action": "send", "from_state": "sending",
                            "to_state": "sent", "actor_side": "sender", "at": sent["sent_at"],
                            "receipt_sequence": 1}], history
        assert (await b.referral.get(f"/v1/referrals/{rid}/transitions")).json()["items"] == history
        attested = (await a.referral.get(f"/v1/referrals/{rid}/receipts")).json()["receipts"]
        assert [(r["sequence"], r["transition"]) for r in attested] == [(1, "sent"), (2, "message_posted")]
        assert sent["receipt_sequence"] == 2
        again = await refer(a, complaint_id, b, key=key, message="Please take this case up.")
        assert again["id"] == rid and again["packet"]["grant_id"] == sent["packet"]["grant_id"]
        grant = sent["packet"]["grant_id"]

        listed = (await b.referral.get("/v1/referrals", params={"side": "recipient"})).json()["items"]
        assert [item["id"] for item in listed] == [rid]
        seen = (await b.referral.get(f"/v1/referrals/{rid}")).json()
        assert seen["side"] == "recipient" and seen["packet"]["grant_id"] == grant
        assert seen["possible_duplicate_here"] is False

        packet = await b.intake.get(f"/v1/disclosures/{grant}", headers=PURPOSE)
        assert packet.status_code == 200, packet.text
        assert sorted(packet.json()["data"]) == ["identity", "narrative"]
        assert VICTIM_NAME in packet.text and "contact" not in packet.json()["data"]

        # A third institution: nothing at referral, nothing at intake.
        for path in (f"/v1/referrals/{rid}", f"/v1/referrals/{rid}/transitions", f"/v1/referrals/{rid}/messages",
                     f"/v1/referrals/{rid}/receipts"):
            assert (await c.referral.get(path)).status_code == 404, path
        for action in ("acknowledge", "withdraw", "accept"):
            assert (await c.referral.post(f"/v1/referrals/{rid}/{action}")).status_code == 404
        assert (await c.referral.post(f"/v1/referrals/{rid}/messages", json={"body": "hello"})).status_code == 404
        assert (await c.intake.get(f"/v1/disclosures/{grant}", headers=PURPOSE)).status_code == 404
        assert (await c.referral.get("/v1/referrals")).json()["items"] == []

        # The wrong side, or the wrong state: 409, and nothing changes.
        before = (await a.referral.get(f"/v1/referrals/{rid}")).json()
        refused = await a.referral.post(f"/v1/referrals/{rid}/acknowledge")
        assert refused.status_code == 409 and refused.json()["type"].endswith("/not-this-sides-action")
        assert (await b.referral.post(f"/v1/referrals/{rid}/accept")).status_code == 409
        assert (await a.referral.get(f"/v1/referrals/{rid}")).json() == before

        assert (await act(b, rid, "acknowledge"))["state"] == "acknowledged"
        asked = await b.referral.post(f"/v1/referrals/{rid}/information-requests",
                                      json={"question": "Was a lawyer present at the border post?"})
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["id"]
        answered = await a.referral.post(f"/v1/referrals/{rid}/messages",
                                         json={"body": "No lawyer was present.", "answers": request_id,
                                               "attachments": [{"sha256": "ab" * 32, "label": "statement"}]})
        assert answered.status_code == 201, answered.text
        state = (await b.referral.get(f"/v1/referrals/{rid}")).json()
        assert state["information_requests"][0]["answer_message_id"] == answered.json()["id"]
        accepted = await act(b, rid, "accept")
        assert accepted["state"] == "accepted" and accepted["receipt_sequence"] > sent["receipt_sequence"]

        thread = (await b.referral.get(f"/v1/referrals/{rid}/messages")).json()["items"]
        assert [(m["author"], m["body"]) for m in thread] == [("sender", "Please take this case up."),
                                                              ("sender", "No lawyer was present.")]
        transitions = (await a.referral.get(f"/v1/referrals/{rid}/transitions")).json()["items"]
        assert [(t["action"], t["from_state"], t["to_state"], t["actor_side"]) for t in transitions] == [
            ("send", "sending", "sent", "sender"), ("acknowledge", "sent", "acknowledged", "recipient"),
            ("request_information", "acknowledged", "acknowledged", "recipient"),
            ("provide_information", "acknowledged", "acknowledged", "sender"),
            ("accept", "acknowledged", "accepted", "recipient")]

        expected = ["comitas.referral.sent", "comitas.referral.message_posted", "comitas.referral.acknowledged",
                    "comitas.referral.information_requested", "comitas.referral.information_provided",
                    "comitas.referral.accepted"]
        for hook in (a_hook, b_hook):
            await eventually(lambda hook=hook: sorted(set(hook.types(rid))) == sorted(expected), timeout=30)
        assert c_hook.types(rid) == []

        # Each side closes its own side, once.
        closed = await act(a, rid, "close", {"outcome": "handled_elsewhere"})
        assert set(closed["closed"]) == {"sender"}
        assert (await a.referral.post(f"/v1/referrals/{rid}/close",
                                      json={"outcome": "resolved"})).status_code == 409
        assert set((await act(b, rid, "close", {"outcome": "taken_up"}))["closed"]) == {"sender", "recipient"}

        # intake's audit log (the sender's): the disclosure's manifest, made with referral acting for A,
        # and B's read of it.
        audit = (await a.intake.get("/v1/audit", params={"limit": 100})).json()["items"]
        created = [e for e in audit if e["action"] == "disclosure.created"]
        assert created and created[0]["details"]["grant_id"] == grant
        assert referral.service.client_id in str(created[0]), created[0]
        assert any(grant in str(e) and b.id in str(e) for e in audit if e["action"] != "disclosure.created")

        dump = await database_dump(referral.database_url)
        assert grant in dump
        for secret in (VICTIM_NAME, PASSPORT, NARRATIVE, "+33 1 23 45 67 89", "1990-02-01"):
            assert secret not in dump, secret
    finally:
        await close_parties(a, b, c)
