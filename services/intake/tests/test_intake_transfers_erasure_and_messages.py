"""What referral needs from intake besides the transfer (issue 10, acceptance 6, intake's side): erasing a
complaint through the API makes the recipient's next read of a grant fail at once, revokes the grants in
force, and tells each recipient, alone, with its grant ids; the erased complaint's assessments no longer
quote its facts. And a message the person writes with the receipt code is announced to the institution
holding the case, without its content."""

from __future__ import annotations

import json

from consent_evidence_kit import PURPOSE, new_complaint, rows
from outbox_kit import outbox
from public_kit import person, proof, public_intake, receipt

REMEDY = "appeal to the Lyon administrative court, dismissed"


async def envelopes(stack, event_type: str, subject: str) -> list[dict]:
    return [e for e in await outbox(stack, event_type) if e.get("subject") == subject]


async def test_erasure_revokes_every_grant_at_once_and_tells_each_recipient_alone(stack):
    a = await stack.new_institution(kind="ombudsperson")
    b, c = await stack.new_institution(kind="nhri"), await stack.new_institution(kind="ngo")
    async with await stack.client_for("intake", a) as sender, await stack.client_for("intake", b) as first, \
            await stack.client_for("intake", c) as second:
        complaint_id = await new_complaint(stack, sender, a.institution_id)
        patched = await sender.patch(f"/v1/complaints/{complaint_id}", json={
            "rights": [{"instrument": "ECHR", "article": "3"}],
            "domestic_remedies": [{"description": REMEDY, "exhausted": True, "final_decision_date": "2026-11-02"}]})
        assert patched.status_code == 200, patched.text
        assessed = await sender.post(f"/v1/complaints/{complaint_id}/assessments")
        assert assessed.status_code == 201 and REMEDY in assessed.text
        grants = {}
        for who, kind in ((b, "nhri"), (c, "ngo")):
            given = await sender.post(f"/v1/complaints/{complaint_id}/consents", json={
                "status": "given", "purposes": ["investigate"], "categories": ["narrative"], "channel": "written",
                "recipient": {"type": "institution", "value": who.institution_id}})
            assert given.status_code == 201, given.text
            made = await sender.post(f"/v1/complaints/{complaint_id}/disclosures", json={
                "recipient_institution_id": who.institution_id, "recipient_kind": kind, "purpose": "investigate",
                "categories": ["narrative"]})
            assert made.status_code == 201, made.text
            grants[who.institution_id] = made.json()["grant_id"]
        assert (await first.get(f"/v1/disclosures/{grants[b.institution_id]}", headers=PURPOSE)).status_code == 200

        erased = await sender.post(f"/v1/complaints/{complaint_id}/erasure",
                                   json={"reason": "the victim asked by letter", "requested_by": "victim"})
        assert erased.status_code == 200, erased.text

        for reader, who in ((first, b), (second, c)):
            gone = await reader.get(f"/v1/disclosures/{grants[who.institution_id]}", headers=PURPOSE)
            assert gone.status_code == 410 and gone.json()["type"].endswith("/complaint-erased"), gone.text
        listed = (await sender.get(f"/v1/complaints/{complaint_id}/disclosures")).json()["items"]
        assert {d["grant_id"]: d["revoked_reason"] for d in listed} == {g: "complaint_erased" for g in grants.values()}

        told = await envelopes(stack, "comitas.complaint.erased", complaint_id)
        assert sorted((tuple(sorted(e["concerns"])), json.dumps(e["data"]["recipients"])) for e in told) == sorted(
            (tuple(sorted((a.institution_id, who))), json.dumps([{"institution_id": who, "grant_ids": [grant]}]))
            for who, grant in grants.items())
        assert "letter" not in json.dumps(told)

        # The stored assessment no longer quotes the complaint (its remedy's description); its deadlines stay.
        kept = (await sender.get(f"/v1/complaints/{complaint_id}/assessments")).json()
        assert kept and REMEDY not in json.dumps(kept)
        assert kept[0]["result"]["erased"] is True
        assert kept[0]["result"]["deadlines"] == assessed.json()["result"]["deadlines"]
        stored = await rows(stack, "SELECT result FROM assessment WHERE complaint_id = :c", c=complaint_id)
        assert REMEDY not in json.dumps([str(r["result"]) for r in stored])


async def test_a_message_from_the_person_is_announced_to_the_holder_without_its_content(stack, tmp_path):
    receiver = await stack.new_institution(kind="ombudsperson")
    served = await public_intake(stack, tmp_path, receiver.institution_id)
    try:
        async with person(served, "198.51.100.77") as api:
            created = await api.post("/v1/public/complaints", json={
                "story": "They came at night and took my son away; we have heard nothing since.",
                "respondent_states": ["FR"], "proof_of_work": await proof(api)})
            assert created.status_code == 201, created.text
            code = created.json()["receipt_code"]
            sent = await api.post("/v1/public/messages", headers=receipt(code),
                                  json={"body": "My son's name is Yusuf Demir."})
            assert sent.status_code == 201, sent.text
        async with await stack.client_for("intake", receiver) as institution:
            listed = (await institution.get("/v1/complaints")).json()["items"]
            complaint_id = next(c["id"] for c in listed if c["reference"] == created.json()["reference"])
            # The institution's own answer is not announced to itself.
            answered = await institution.post(f"/v1/complaints/{complaint_id}/public-messages",
                                              json={"body": "We are looking into it."})
            assert answered.status_code == 201
        told = await envelopes(stack, "comitas.complaint.message_received", complaint_id)
        assert len(told) == 1
        event = told[0]
        assert event["institutionid"] == receiver.institution_id and not event.get("concerns")
        assert event["data"]["message_id"] == sent.json()["id"]
        assert "Yusuf" not in json.dumps(event)
    finally:
        await served.stop()
