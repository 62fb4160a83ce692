"""Consent and disclosures through real HTTP with real tokens: records and their audit, the consent
check referral calls, a disclosure holding exactly the consented categories and read by its recipient
only, refusal without consent, withdrawal and erasure taking effect at once, and 404 to everyone else."""

from __future__ import annotations

import asyncio
import json

import pytest
from consent_evidence_kit import PURPOSE, audit, count, erase_key, new_complaint, rows

GIVEN_TO_B = {"status": "given", "purposes": ["investigate"], "categories": ["identity", "narrative"],
              "channel": "in_person", "expressed_by": "victim"}


def to(institution_id: str) -> dict:
    return {"type": "institution", "value": institution_id}


async def setup(stack):
    a, b = await stack.new_institution(kind="ombudsperson"), await stack.new_institution(kind="nhri")
    async with await stack.client_for("intake", a) as api:
        complaint_id = await new_complaint(stack, api, a.institution_id)
    return a, b, await stack.client_for("intake", a), await stack.client_for("intake", b), complaint_id


async def test_consent_is_recorded_listed_checked_and_audited(stack):
    a, b, api, other, complaint_id = await setup(stack)
    async with api, other:
        given = await api.post(f"/v1/complaints/{complaint_id}/consents", json=GIVEN_TO_B | {"recipient": to(b.institution_id)})
        assert given.status_code == 201, given.text
        assert given.json()["recorded_by"]["client_id"] == a.client_id
        justified = await api.post(f"/v1/complaints/{complaint_id}/consents", json={
            "status": "not_obtainable", "recipient": {"type": "mechanism", "value": "iachr"},
            "categories": ["identity", "narrative", "health"], "channel": "through_partner",
            "expressed_by": "other", "justification": {
                "reason": "detained incommunicado; family unreachable", "purposes": ["interim_measures"],
                "legal_basis": "IACHR Rules of Procedure Art 25"}})
        assert justified.status_code == 201, justified.text
        assert justified.json()["purposes"] == ["interim_measures"]

        listed = (await api.get(f"/v1/complaints/{complaint_id}/consents")).json()["items"]
        assert [c["status"] for c in listed] == ["given", "not_obtainable"]
        assert listed[1]["justification"]["reason"] == "detained incommunicado; family unreachable"
        # The reason is sealed with the complaint's key: not in the database as text.
        stored = await rows(stack, "SELECT justification_sealed FROM consent_record WHERE id = :i",
                            i=listed[1]["id"])
        assert "incommunicado" not in stored[0]["justification_sealed"]

        async def check(**params):
            answer = await api.get(f"/v1/complaints/{complaint_id}/consent-check", params=params)
            assert answer.status_code == 200, answer.text
            return answer.json()

        yes = await check(recipient=b.institution_id, recipient_kind="nhri", purpose="investigate", category="identity")
        assert yes["allowed"] and yes["reason"] == "given" and yes["record_id"] == listed[0]["id"]
        no = await check(recipient=b.institution_id, recipient_kind="nhri", purpose="investigate", category="health")
        assert not no["allowed"] and no["reason"] == "no_consent"
        mech = await check(recipient="iachr", recipient_kind="mechanism", purpose="interim_measures", category="health")
        assert mech["allowed"] and mech["basis"] == "not_obtainable"
        assert not (await check(recipient="iachr", recipient_kind="mechanism", purpose="investigate",
                                category="health"))["allowed"]
        before = await check(recipient=b.institution_id, recipient_kind="nhri", purpose="investigate",
                             category="identity", at="2020-01-01T00:00:00Z")
        assert not before["allowed"]

        log = await audit(api)
        actions = [e["action"] for e in log if e["subject_id"] == complaint_id]
        assert actions.count("consent.given") == 1 and actions.count("consent.not_obtainable") == 1
        entry = next(e for e in log if e["action"] == "consent.given" and e["subject_id"] == complaint_id)
        assert entry["details"]["consent_id"] == listed[0]["id"]
        assert "incommunicado" not in json.dumps(log)


@pytest.mark.parametrize("body,pointer", [
    ({"status": "given", "purposes": ["investigate"], "categories": ["identity"], "at": "2999-01-01T00:00:00Z"}, "/at"),
    ({"status": "not_obtainable", "categories": ["identity"]}, "/justification"),
    ({"status": "given", "categories": ["identity"]}, "/purposes"),
    ({"status": "given", "purposes": ["investigate"], "categories": ["identity"],
      "recipient": {"type": "mechanism", "value": "nowhere"}}, "/recipient/value"),
    ({"status": "given", "purposes": ["gossip"], "categories": ["identity"]}, "/purposes/0"),
])
async def test_bad_consent_records_are_refused_with_their_field_and_nothing_is_written(stack, body, pointer):
    a, b, api, other, complaint_id = await setup(stack)
    async with api, other:
        payload = {"recipient": to(b.institution_id), "channel": "written"} | body
        refused = await api.post(f"/v1/complaints/{complaint_id}/consents", json=payload)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert pointer in [e.get("pointer") for e in refused.json()["errors"]]
        assert await count(stack, "consent_record", complaint_id=complaint_id) == 0


async def test_a_disclosure_holds_exactly_the_consented_categories_and_only_its_recipient_reads_it(stack):
    a, b, sender, recipient, complaint_id = await setup(stack)
    third = await stack.new_institution()
    async with sender, recipient, await stack.client_for("intake", third) as stranger:
        await sender.post(f"/v1/complaints/{complaint_id}/consents", json=GIVEN_TO_B | {"recipient": to(b.institution_id)})
        ask = {"recipient_institution_id": b.institution_id, "recipient_kind": "nhri", "purpose": "investigate"}

        too_much = await sender.post(f"/v1/complaints/{complaint_id}/disclosures",
                                     json=ask | {"categories": ["identity", "narrative", "health"]})
        assert too_much.status_code == 409, too_much.text
        assert too_much.json()["refused"] == {"health": {"reason": "no_consent", "explanation": too_much.json()[
            "refused"]["health"]["explanation"]}}
        other_purpose = await sender.post(f"/v1/complaints/{complaint_id}/disclosures",
                                          json=ask | {"purpose": "legal_aid", "categories": ["narrative"]})
        assert other_purpose.status_code == 409
        assert await count(stack, "disclosure", complaint_id=complaint_id) == 0

        made = await sender.post(f"/v1/complaints/{complaint_id}/disclosures",
                                 json=ask | {"categories": ["narrative", "identity"]},
                                 headers={"Idempotency-Key": "referral-1"})
        assert made.status_code == 201, made.text
        grant = made.json()
        assert grant["basis"] == "consent" and grant["categories"] == ["identity", "narrative"]
        assert set(grant["digests"]) == {"identity", "narrative"}
        again = await sender.post(f"/v1/complaints/{complaint_id}/disclosures",
                                  json=ask | {"categories": ["narrative", "identity"]},
                                  headers={"Idempotency-Key": "referral-1"})
        assert again.status_code == 201 and again.json() == grant
        assert await count(stack, "disclosure", complaint_id=complaint_id) == 1
        stored = await rows(stack, "SELECT snapshot_sealed FROM disclosure WHERE grant_id = :g", g=grant["grant_id"])
        assert "border" not in stored[0]["snapshot_sealed"] and "Amina" not in stored[0]["snapshot_sealed"]

        url = f"/v1/disclosures/{grant['grant_id']}"
        packet = await recipient.get(url, headers=PURPOSE)
        assert packet.status_code == 200, packet.text
        body = packet.json()
        assert set(body["data"]) == {"identity", "narrative"}
        assert body["data"]["narrative"]["summary"].startswith("Detained at the border")
        assert body["data"]["narrative"]["incidents"][0]["place"] == "Menton border post"
        assert body["data"]["identity"]["victims"][0]["name"] == "Amina Diallo"
        assert body["data"]["identity"]["victims"][0]["identity_documents"][0]["number"] == "X1234567"
        assert "+33 1 23 45 67 89" not in packet.text  # contact was not consented to
        assert body["handling"]["identity_disclosure"]["respondent_state"] == "undecided"
        assert body["from_institution_id"] == a.institution_id and body["digests"] == grant["digests"]

        assert (await recipient.get(url)).status_code == 422  # no stated purpose
        async with await stack.client_for("intake", b, scope="complaints:read") as no_pii:
            assert (await no_pii.get(url, headers=PURPOSE)).status_code == 403
        assert (await stranger.get(url, headers=PURPOSE)).status_code == 404
        assert (await sender.get(url, headers=PURPOSE)).status_code == 404  # the sender is not its recipient

        log = await audit(sender)
        created = next(e for e in log if e["action"] == "disclosure.created" and e["subject_id"] == complaint_id)
        assert created["details"]["grant_id"] == grant["grant_id"]
        assert created["details"]["categories"] == ["identity", "narrative"]
        assert created["details"]["recipient_institution_id"] == b.institution_id
        assert created["details"]["consent_record_ids"] == grant["consent_record_ids"]
        read = next(e for e in log if e["action"] == "disclosure.read" and e["subject_id"] == complaint_id)
        assert read["details"]["reader_institution_id"] == b.institution_id
        assert read["actor"]["client_id"] == b.client_id and read["purpose"] == PURPOSE["Comitas-Purpose"]
        # The reader's own log holds nothing of the sender's case.
        assert all(e["subject_id"] != complaint_id for e in await audit(recipient))


async def test_an_override_needs_its_scope_and_a_reason_and_is_audited(stack):
    a, b, sender, recipient, complaint_id = await setup(stack)
    async with sender, recipient:
        ask = {"recipient_institution_id": b.institution_id, "recipient_kind": "nhri", "purpose": "investigate",
               "categories": ["narrative"]}
        async with await stack.client_for("intake", a, scope="complaints:read complaints:manage complaints:pii") as api:
            refused = await api.post(f"/v1/complaints/{complaint_id}/disclosures",
                                     json=ask | {"override_reason": "risk to life, victim unreachable"})
        assert refused.status_code == 403 and refused.json()["required_scopes"] == ["complaints:consent_override"]
        no_reason = await sender.post(f"/v1/complaints/{complaint_id}/disclosures", json=ask)
        assert no_reason.status_code == 409  # the override scope alone overrides nothing
        async with await stack.client_for("intake", a, scope="complaints:manage complaints:consent_override") as overrider:
            made = await overrider.post(f"/v1/complaints/{complaint_id}/disclosures",
                                        json=ask | {"override_reason": "risk to life, victim unreachable"})
            assert made.status_code == 201, made.text
            assert made.json()["basis"] == "override"
            log = await audit(overrider)
        overridden = next(e for e in log if e["action"] == "consent.overridden" and e["subject_id"] == complaint_id)
        assert overridden["details"]["override"]["reason"] == "risk to life, victim unreachable"
        assert overridden["details"]["override"]["refused"] == {"narrative": "no_consent"}
        read = await recipient.get(f"/v1/disclosures/{made.json()['grant_id']}", headers=PURPOSE)
        assert read.status_code == 200 and set(read.json()["data"]) == {"narrative"}


async def published(stack, event_type: str, subject: str, expected: int) -> list[dict]:
    for _ in range(100):
        found = await rows(stack, "SELECT envelope, published_at FROM outbox WHERE event_type = :t", t=event_type)
        envelopes = [json.loads(r["envelope"]) if isinstance(r["envelope"], str) else r["envelope"] for r in found
                     if r["published_at"] is not None]
        mine = [e for e in envelopes if e.get("subject") == subject]
        if len(mine) >= expected:
            return mine
        await asyncio.sleep(0.1)
    raise AssertionError(f"{expected} {event_type} for {subject} not published")


async def test_withdrawal_makes_the_next_read_fail_at_once_and_tells_the_recipient(stack):
    a, b, sender, recipient, complaint_id = await setup(stack)
    c = await stack.new_institution(kind="ngo")
    async with sender, recipient, await stack.client_for("intake", c) as ngo:
        given_b = (await sender.post(f"/v1/complaints/{complaint_id}/consents",
                                     json=GIVEN_TO_B | {"recipient": to(b.institution_id)})).json()
        await sender.post(f"/v1/complaints/{complaint_id}/consents", json=GIVEN_TO_B | {
            "recipient": {"type": "institution_kind", "value": "ngo"}, "categories": ["narrative"]})
        grants = {}
        for who, kind in ((b, "nhri"), (c, "ngo")):
            made = await sender.post(f"/v1/complaints/{complaint_id}/disclosures", json={
                "recipient_institution_id": who.institution_id, "recipient_kind": kind, "purpose": "investigate",
                "categories": ["narrative"]})
            assert made.status_code == 201, made.text
            grants[who.institution_id] = made.json()["grant_id"]
        assert (await recipient.get(f"/v1/disclosures/{grants[b.institution_id]}", headers=PURPOSE)).status_code == 200

        withdrawn = await sender.post(f"/v1/complaints/{complaint_id}/consents/{given_b['id']}/withdrawal",
                                      json={"channel": "phone"})
        assert withdrawn.status_code == 201, withdrawn.text
        assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["withdraws"] == given_b["id"]

        gone = await recipient.get(f"/v1/disclosures/{grants[b.institution_id]}", headers=PURPOSE)
        assert gone.status_code == 410 and gone.json()["reason"] == "consent_withdrawn"
        # The NGO's disclosure rests on another consent, untouched.
        assert (await ngo.get(f"/v1/disclosures/{grants[c.institution_id]}", headers=PURPOSE)).status_code == 200
        listed = (await sender.get(f"/v1/complaints/{complaint_id}/disclosures")).json()["items"]
        revoked = {d["grant_id"]: d["revoked_reason"] for d in listed}
        assert revoked == {grants[b.institution_id]: "consent_withdrawn", grants[c.institution_id]: None}

        events = await published(stack, "comitas.consent.withdrawn", complaint_id, 1)
        assert len(events) == 1
        event = events[0]
        assert event["data"]["recipients"] == [{"institution_id": b.institution_id,
                                                "grant_ids": [grants[b.institution_id]]}]
        assert set(event["concerns"]) == {a.institution_id, b.institution_id}
        assert "border" not in json.dumps(event)
        log = await audit(sender)
        entry = next(e for e in log if e["action"] == "consent.withdrawn" and e["subject_id"] == complaint_id)
        assert entry["details"]["revoked_grants"] == {b.institution_id: [grants[b.institution_id]]}

        # Withdrawing for every NGO now reaches C as well, which is told in an event of its own.
        kind_wide = await sender.post(f"/v1/complaints/{complaint_id}/consents", json={
            "status": "withdrawn", "purposes": ["investigate"], "categories": ["narrative"], "channel": "written",
            "recipient": {"type": "institution_kind", "value": "ngo"}})
        assert kind_wide.status_code == 201
        assert (await ngo.get(f"/v1/disclosures/{grants[c.institution_id]}", headers=PURPOSE)).status_code == 410
        events = await published(stack, "comitas.consent.withdrawn", complaint_id, 2)
        assert [e["data"]["recipients"][0]["institution_id"] for e in events if e["data"]["recipients"]] == [
            b.institution_id, c.institution_id]


async def test_erasure_makes_the_next_read_fail_at_once(stack):
    a, b, sender, recipient, complaint_id = await setup(stack)
    async with sender, recipient:
        await sender.post(f"/v1/complaints/{complaint_id}/consents", json=GIVEN_TO_B | {"recipient": to(b.institution_id)})
        grant = (await sender.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": b.institution_id, "recipient_kind": "nhri", "purpose": "investigate",
            "categories": ["identity"]})).json()["grant_id"]
        assert (await recipient.get(f"/v1/disclosures/{grant}", headers=PURPOSE)).status_code == 200
        await erase_key(stack, a.institution_id, complaint_id)
        erased = await recipient.get(f"/v1/disclosures/{grant}", headers=PURPOSE)
        assert erased.status_code == 410 and erased.json()["type"].endswith("/complaint-erased")
        # Consent records are still listed (their sealed texts are gone with the key).
        assert (await sender.get(f"/v1/complaints/{complaint_id}/consents")).status_code == 200


async def test_the_sender_can_revoke_a_grant(stack):
    a, b, sender, recipient, complaint_id = await setup(stack)
    async with sender, recipient:
        await sender.post(f"/v1/complaints/{complaint_id}/consents", json=GIVEN_TO_B | {"recipient": to(b.institution_id)})
        grant = (await sender.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": b.institution_id, "recipient_kind": "nhri", "purpose": "investigate",
            "categories": ["identity"]})).json()["grant_id"]
        revoked = await sender.delete(f"/v1/complaints/{complaint_id}/disclosures/{grant}")
        assert revoked.status_code == 200 and revoked.json()["revoked_reason"] == "revoked_by_sender"
        gone = await recipient.get(f"/v1/disclosures/{grant}", headers=PURPOSE)
        assert gone.status_code == 410 and gone.json()["reason"] == "revoked_by_sender"
