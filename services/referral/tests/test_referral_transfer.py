"""Issue 10, acceptance 7 through referral: a transfer accepted by the recipient has intake create the case
among the recipient's complaints (with the recipient's exchanged token and the sender's grant), linked to
the sender's, which shows ``transferred``; without consent to the transfer itself it is refused at send."""

from __future__ import annotations

from referral_testkit import RECIPIENT_PROFILE, act, close_parties, complaint, consent, new_party, refer

from comitas_shared.testing import eventually


async def test_an_accepted_transfer_moves_the_case_to_the_recipient_s_intake(stack, referral):
    a = await new_party(stack, referral, "Sender", country="FR")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    try:
        complaint_id = await complaint(a)
        await consent(a, complaint_id, b.id, purposes=["transfer"], categories=["identity", "narrative"])
        sent = await refer(a, complaint_id, b, kind="transfer")
        rid = sent["id"]
        assert sent["kind"] == "transfer" and sent["state"] == "sent"
        await act(b, rid, "acknowledge")
        accepted = await act(b, rid, "accept")
        assert accepted["state"] == "accepted"
        new_id = accepted["transferred_complaint_id"]
        assert new_id and new_id != complaint_id
        theirs = await b.intake.get(f"/v1/complaints/{new_id}")
        assert theirs.status_code == 200, theirs.text
        ours = (await a.intake.get(f"/v1/complaints/{complaint_id}")).json()
        assert ours["status"] == "transferred"
        assert (await a.referral.get(f"/v1/referrals/{rid}")).json()["transferred_complaint_id"] == new_id
        # Accepting again changes nothing (and intake made one complaint).
        assert (await b.referral.post(f"/v1/referrals/{rid}/accept")).status_code == 409
    finally:
        await close_parties(a, b)


async def test_the_recipient_alone_is_told_that_it_may_hold_the_same_matter(stack, referral):
    """intake's blind index finds the victim among the recipient's own cases: the recipient's view of the
    referral says so; the sender's says nothing (it would reveal what the recipient holds)."""
    a = await new_party(stack, referral, "Sender", country="FR", kind="ombudsperson")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    try:
        coordination = {"disclosure": {"coordination": True}}
        await complaint(b, **coordination)
        complaint_id = await complaint(a, **coordination)

        async def indexed() -> bool:
            # intake indexes a complaint after its submission (its own consumer): the sender's notice of
            # a match means both complaints are in the blind index the disclosure will look in.
            found = await a.intake.get(f"/v1/complaints/{complaint_id}/possible-duplicates")
            return found.status_code == 200 and bool(found.json()["items"])

        await eventually(indexed, timeout=30)
        await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
        rid = (await refer(a, complaint_id, b))["id"]
        assert (await b.referral.get(f"/v1/referrals/{rid}")).json()["possible_duplicate_here"] is True
        assert (await a.referral.get(f"/v1/referrals/{rid}")).json()["possible_duplicate_here"] is None
    finally:
        await close_parties(a, b)


async def test_the_packet_lists_the_filing_deadlines_of_the_latest_assessment(stack, referral):
    """Time limits keep running while a case is referred: the packet says so, with the filing deadlines
    the sender's latest assessment computed (dates only)."""
    a = await new_party(stack, referral, "Sender", country="FR")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    try:
        complaint_id = await complaint(a, respondent_states=["FR"])
        facts = {"rights": [{"instrument": "ECHR", "article": "3"}],
                 "domestic_remedies": [{"description": "complaint to the prosecutor, dismissed", "exhausted": True,
                                        "final_decision_date": "2026-11-02", "nature": "ordinary"}]}
        assert (await a.intake.patch(f"/v1/complaints/{complaint_id}", json=facts)).status_code == 200
        assessed = await a.intake.post(f"/v1/complaints/{complaint_id}/assessments")
        assert assessed.status_code == 201, assessed.text
        watched = {d["mechanism"]: d["last_day"] for d in assessed.json()["result"]["deadlines"]}
        assert watched
        await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
        sent = await refer(a, complaint_id, b)
        packet = (await b.referral.get(f"/v1/referrals/{sent['id']}")).json()["packet"]
        assert {d["mechanism"]: d["last_day"] for d in packet["filing_deadlines"]} == watched
        assert "keep running" in packet["notice"]
    finally:
        await close_parties(a, b)
