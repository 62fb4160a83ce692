"""Transfers through real HTTP with real tokens (issue 10, acceptance 7, intake's side): the recipient,
through referral's exchanged token, takes a case over with the sender's grant for the transfer; one
transaction creates its complaint from the consented data only, marks the sender's ``transferred``, copies
the consent records, hands the filing deadlines over and announces it; a retry answers the same; the
victim's receipt code shows the new holder's status. Refused without consent to the transfer itself (409),
for anyone but the grant's recipient (404)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from consent_evidence_kit import PURPOSE, audit, count
from outbox_kit import outbox
from public_kit import person, proof, public_intake, receipt

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
INTAKE, REFERRAL = "urn:comitas:intake", "urn:comitas:referral"
CERTIFICATE = b"Medical certificate: bruises on both arms, 4 October 2026."
STORY = "Officers took my brother Karim Haddad from our home in Lyon and beat him at the police station."
# What makes the assessment watch a filing limit: an exhausted remedy decided recently, a right of the ECHR.
FACTS = {"rights": [{"instrument": "ECHR", "article": "3"}],
         "domestic_remedies": [{"description": "complaint to the prosecutor, dismissed", "exhausted": True,
                                "final_decision_date": "2026-11-02", "nature": "ordinary"}]}


@pytest.fixture(scope="module")
async def sender(stack):
    return await stack.new_institution("Transfer sender", kind="ombudsperson")


@pytest.fixture(scope="module")
async def served(stack, sender, tmp_path_factory):
    app = await public_intake(stack, tmp_path_factory.mktemp("transfer-evidence"), sender.institution_id)
    yield app
    await app.stop()


@pytest.fixture(scope="module")
async def referral_service(stack):
    """referral as identity knows it: a platform service that may exchange tokens for intake."""
    return await stack.new_service(f"referral-{uuid.uuid4().hex[:6]}", service_resource=REFERRAL,
                                   exchange_resources=[INTAKE], exchange_scopes=["complaints:submit", "complaints:read"])


async def exchanged(stack, served, institution, service) -> httpx.AsyncClient:
    """An intake client with the institution's token as referral exchanges it: complaints:submit only,
    ``act`` naming referral."""
    async def token(client_id: str, secret: str, **form: str) -> httpx.Response:
        return await stack.http.post(f"{stack.identity.url}/oauth/token", data=form, auth=(client_id, secret))

    called_with = (await token(institution.client_id, institution.client_secret, grant_type="client_credentials",
                               resource=REFERRAL, scope="complaints:submit referrals:respond")).json()["access_token"]
    answer = await token(service.client_id, service.client_secret or "", grant_type=EXCHANGE,
                         subject_token=called_with, subject_token_type=ACCESS_TOKEN, resource=INTAKE,
                         scope="complaints:submit")
    assert answer.status_code == 200, answer.text
    return httpx.AsyncClient(base_url=served.url, timeout=60,
                             headers={"Authorization": f"Bearer {answer.json()['access_token']}"})


async def own(stack, served, institution) -> httpx.AsyncClient:
    token = await stack.token(institution)
    return httpx.AsyncClient(base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


async def public_complaint(served, sharing: dict) -> tuple[str, str]:
    """A person submits through the public channel: the receipt code and the complaint's reference."""
    async with person(served, f"198.51.100.{uuid.uuid4().int % 200 + 20}") as api:
        created = await api.post("/v1/public/complaints", json={
            "story": STORY, "victim_name": "Karim Haddad", "is_victim": False, "relationship": "sibling",
            "contact": {"kind": "phone", "value": "+33 6 12 34 56 78"}, "respondent_states": ["FR"],
            "incident_date": "2026-10-03", "incident_place": "Lyon", "incident_country": "FR", "language": "fr",
            "sharing": sharing, "proof_of_work": await proof(api)})
        assert created.status_code == 201, created.text
        return created.json()["receipt_code"], created.json()["reference"]


async def complaint_id_of(api: httpx.AsyncClient, reference: str) -> str:
    listed = (await api.get("/v1/complaints", params={"limit": 100})).json()["items"]
    return next(c["id"] for c in listed if c["reference"] == reference)


async def test_the_recipient_takes_the_case_over_with_the_victim_s_consent(stack, served, sender, referral_service):
    recipient, third = await stack.new_institution(kind="nhri"), await stack.new_institution(kind="nhri")
    code, reference = await public_complaint(served, {"investigate": True, "other_institutions": True})
    async with person(served, "198.51.100.239") as api:
        added = await api.post("/v1/public/evidence", params={"filename": "certificate.txt"}, content=CERTIFICATE,
                               headers=receipt(code) | {"Content-Type": "text/plain"})
        assert added.status_code == 201, added.text
    async with await own(stack, served, sender) as a:
        complaint_id = await complaint_id_of(a, reference)
        [original] = (await a.get(f"/v1/complaints/{complaint_id}/evidence")).json()["items"]
        assert (await a.patch(f"/v1/complaints/{complaint_id}", json=FACTS)).status_code == 200
        assessed = await a.post(f"/v1/complaints/{complaint_id}/assessments")
        assert assessed.status_code == 201, assessed.text
        watched = {d["mechanism"]: d for d in assessed.json()["result"]["deadlines"]}
        assert "echr" in watched, watched
        # The person agreed that "other institutions" may take the case over (transfer, every category);
        # the sender shares identity, narrative and evidence, not the contact.
        made = await a.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "nhri", "purpose": "transfer",
            "categories": ["identity", "narrative", "evidence"]})
        assert made.status_code == 201, made.text
        grant_id = made.json()["grant_id"]

    referral_id = f"ref-{uuid.uuid4().hex[:12]}"
    ask = {"grant_id": grant_id, "referral_id": referral_id}
    async with await exchanged(stack, served, third, referral_service) as stranger:
        elsewhere = await stranger.post("/v1/transfers", json=ask, headers={"Idempotency-Key": referral_id})
        assert elsewhere.status_code == 404, elsewhere.text
        assert complaint_id not in elsewhere.text
    async with await exchanged(stack, served, recipient, referral_service) as b:
        taken = await b.post("/v1/transfers", json=ask, headers={"Idempotency-Key": referral_id})
        assert taken.status_code == 201, taken.text
        body = taken.json()
        assert body["transferred_from"] == {"institution_id": sender.institution_id, "complaint_id": complaint_id}
        assert body["categories"] == ["evidence", "identity", "narrative"] and body["referral_id"] == referral_id
        assert body["reference"].startswith("CMP-") and body["reference"] != reference
        assert [d["mechanism"] for d in body["deadlines"]] == sorted(watched)
        assert body["deadlines"][0]["last_day"] == watched[body["deadlines"][0]["mechanism"]]["last_day"]
        again = await b.post("/v1/transfers", json=ask, headers={"Idempotency-Key": referral_id})
        assert again.status_code == 201 and again.json() == body
        other_key = await b.post("/v1/transfers", json=ask, headers={"Idempotency-Key": "another-key"})
        assert other_key.status_code == 409 and other_key.json()["complaint_id"] == body["complaint_id"]
    new_id = body["complaint_id"]
    assert await count(stack, "transfer", grant_id=grant_id) == 1

    async with await own(stack, served, recipient) as b:
        mine = await b.get(f"/v1/complaints/{new_id}", headers=PURPOSE)
        assert mine.status_code == 200, mine.text
        new = mine.json()
        assert new["channel"] == "transfer" and new["institution_id"] == recipient.institution_id
        assert new["transferred_from"]["complaint_id"] == complaint_id
        assert new["summary"] == STORY and new["petitioner"]["kind"] == "relative"
        assert new["petitioner"].get("contacts") in (None, [])  # contact was not consented to
        assert "+33 6 12 34 56 78" not in mine.text
        assert new["domestic_remedies"][0]["final_decision_date"] == "2026-11-02"
        assert new["disclosure"]["respondent_state"] == "withheld"
        # The victim's choices followed the case; those that named the sender now name the recipient.
        consents = (await b.get(f"/v1/complaints/{new_id}/consents", params={"limit": 100})).json()["items"]
        assert consents and all(c["channel"] == "public_channel" for c in consents)
        named = {c["recipient"]["value"] for c in consents if c["recipient"]["type"] == "institution"}
        assert named == {recipient.institution_id}
        # The evidence moved too: the same bytes under the new complaint's key, its custody saying whence.
        [item] = (await b.get(f"/v1/complaints/{new_id}/evidence")).json()["items"]
        assert item["sha256"] == original["sha256"] and item["id"] != original["id"]
        content = await b.get(f"/v1/complaints/{new_id}/evidence/{item['id']}/content", headers=PURPOSE)
        assert content.status_code == 200 and content.content == CERTIFICATE
        custody = (await b.get(f"/v1/complaints/{new_id}/evidence/{item['id']}/custody")).json()
        assert custody["intact"] and custody["entries"][0]["action"] == "received"
        assert custody["entries"][0]["details"]["transferred_from"]["evidence_id"] == original["id"]
        log = await audit(b)
        entry = next(e for e in log if e["action"] == "complaint.transferred_in")
        assert entry["subject_id"] == new_id and entry["details"]["from_complaint_id"] == complaint_id
        assert entry["actor"]["act"]["sub"] == referral_service.client_id

    async with await own(stack, served, sender) as a:
        old = (await a.get(f"/v1/complaints/{complaint_id}")).json()
        assert old["status"] == "transferred"
        assert old["transferred_to"]["institution_id"] == recipient.institution_id
        assert old["transferred_to"]["complaint_id"] == new_id
        custody = (await a.get(f"/v1/complaints/{complaint_id}/evidence/{original['id']}/custody")).json()
        assert custody["intact"] and custody["entries"][-1]["action"] == "shared"
        assert custody["entries"][-1]["details"]["transferred_to"]["complaint_id"] == new_id
        moved = await a.post(f"/v1/complaints/{complaint_id}/status", json={"action": "activate"})
        assert moved.status_code == 409
        log = await audit(a)
        entry = next(e for e in log if e["action"] == "complaint.transferred_out" and e["subject_id"] == complaint_id)
        assert entry["details"]["to_complaint_id"] == new_id and entry["details"]["grant_id"] == grant_id
        assert entry["actor"]["act"]["sub"] == referral_service.client_id
        assert entry["actor"]["client_id"] == recipient.client_id

    # The deadlines moved: withdrawn for the sender, requested for the recipient with the same last day.
    withdrawn = [e for e in await outbox(stack, "comitas.deadline.withdrawn") if e["subject"] == complaint_id]
    assert {e["data"]["deadline_key"] for e in withdrawn} == {f"complaint:{complaint_id}:filing:{m}" for m in watched}
    assert all(e["data"]["institution_id"] == sender.institution_id for e in withdrawn)
    requested = [e for e in await outbox(stack, "comitas.deadline.requested") if e["subject"] == new_id]
    assert {e["data"]["deadline_key"]: e["data"]["last_day"] for e in requested} == {
        f"complaint:{new_id}:filing:{m}": d["last_day"] for m, d in watched.items()}
    assert all(e["data"]["institution_id"] == recipient.institution_id for e in requested)
    announced = [e for e in await outbox(stack, "comitas.complaint.transferred") if e["subject"] == new_id]
    assert len(announced) == 1
    assert set(announced[0]["concerns"]) == {sender.institution_id, recipient.institution_id}
    assert announced[0]["data"]["transferred_from"]["complaint_id"] == complaint_id
    assert "Karim" not in json.dumps(announced) and "Lyon" not in json.dumps(announced)

    # The person's receipt code keeps working: the status is the recipient's, said plainly, naming no one.
    async with person(served, "198.51.100.240") as api:
        status = await api.get("/v1/public/status", headers=receipt(code))
        assert status.status_code == 200, status.text
        shown = status.json()
        assert shown["transferred"] is True and shown["status"] == "received"
        assert "passed on" in shown["status_text"] and shown["reference"] == body["reference"]
        assert recipient.institution_id not in status.text and sender.institution_id not in status.text
        # Writing now reaches the institution that holds the case.
        sent = await api.post("/v1/public/messages", headers=receipt(code), json={"body": "Any news?"})
        assert sent.status_code == 201, sent.text
    async with await own(stack, served, recipient) as b:
        # The recipient's first assessment of the case watches the same limits (nothing withdrawn).
        reassessed = await b.post(f"/v1/complaints/{new_id}/assessments")
        assert reassessed.status_code == 201, reassessed.text
        assert not [e for e in await outbox(stack, "comitas.deadline.withdrawn") if e["subject"] == new_id]
        thread = (await b.get(f"/v1/complaints/{new_id}/public-messages")).json()["items"]
        assert [m["body"] for m in thread] == ["Any news?"]
        assert (await b.post(f"/v1/complaints/{new_id}/status", json={"action": "start_assessment"})).status_code == 200
    async with person(served, "198.51.100.241") as api:
        assert (await api.get("/v1/public/status", headers=receipt(code))).json()["status"] == "under_assessment"


async def test_without_consent_to_the_transfer_itself_nothing_moves(stack, served, sender, referral_service):
    recipient = await stack.new_institution(kind="nhri")
    # The person agreed only that the receiving institution investigates.
    _code, reference = await public_complaint(served, {"investigate": True})
    async with await own(stack, served, sender) as a:
        complaint_id = await complaint_id_of(a, reference)
        refused = await a.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "nhri", "purpose": "transfer",
            "categories": ["narrative"]})
        assert refused.status_code == 409, refused.text
        # Consent to share categories for an investigation is there; it is not consent to the transfer.
        given = await a.post(f"/v1/complaints/{complaint_id}/consents", json={
            "status": "given", "purposes": ["investigate"], "categories": ["identity", "narrative"],
            "recipient": {"type": "institution", "value": recipient.institution_id}, "channel": "written"})
        assert given.status_code == 201, given.text
        made = await a.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "nhri",
            "purpose": "investigate", "categories": ["identity", "narrative"]})
        assert made.status_code == 201, made.text
        grant_id = made.json()["grant_id"]
        before = await count(stack, "complaint", institution_id=recipient.institution_id)

    async with await exchanged(stack, served, recipient, referral_service) as b:
        answer = await b.post("/v1/transfers", json={"grant_id": grant_id, "referral_id": "ref-no-consent"},
                              headers={"Idempotency-Key": "ref-no-consent"})
        assert answer.status_code == 409, answer.text
        assert answer.json()["type"].endswith("/transfer-consent-required")
        assert answer.json()["reason"] == "not_a_transfer_grant" and answer.json()["purpose"] == "investigate"
        unknown = await b.post("/v1/transfers", json={"grant_id": str(uuid.uuid4()), "referral_id": "ref-x"})
        assert unknown.status_code == 404
    assert await count(stack, "complaint", institution_id=recipient.institution_id) == before
    assert await count(stack, "transfer", grant_id=grant_id) == 0
    async with await own(stack, served, sender) as a:
        assert (await a.get(f"/v1/complaints/{complaint_id}")).json()["status"] == "received"


async def test_a_withdrawn_transfer_consent_stops_the_transfer(stack, served, sender, referral_service):
    recipient = await stack.new_institution(kind="nhri")
    code, reference = await public_complaint(served, {"other_institutions": True})
    async with await own(stack, served, sender) as a:
        complaint_id = await complaint_id_of(a, reference)
        grant_id = (await a.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "nhri", "purpose": "transfer",
            "categories": ["narrative"]})).json()["grant_id"]
    async with person(served, "198.51.100.242") as api:
        withdrawn = await api.post("/v1/public/consent/withdrawal", headers=receipt(code),
                                   json={"choices": ["other_institutions"]})
        assert withdrawn.status_code == 200, withdrawn.text
    async with await exchanged(stack, served, recipient, referral_service) as b:
        answer = await b.post("/v1/transfers", json={"grant_id": grant_id, "referral_id": "ref-withdrawn"})
        assert answer.status_code == 410, answer.text
    async with await own(stack, served, sender) as a:
        assert (await a.get(f"/v1/complaints/{complaint_id}")).json()["status"] == "received"


async def test_two_transfers_racing_on_one_grant_move_the_case_once(stack, served, sender, referral_service):
    recipient = await stack.new_institution(kind="nhri")
    _code, reference = await public_complaint(served, {"other_institutions": True})
    async with await own(stack, served, sender) as a:
        complaint_id = await complaint_id_of(a, reference)
        grant_id = (await a.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "nhri", "purpose": "transfer",
            "categories": ["narrative"]})).json()["grant_id"]
    async with await exchanged(stack, served, recipient, referral_service) as b:
        answers = await asyncio.gather(*(
            b.post("/v1/transfers", json={"grant_id": grant_id, "referral_id": key}, headers={"Idempotency-Key": key})
            for key in ("ref-race-1", "ref-race-2")))
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    assert await count(stack, "transfer", grant_id=grant_id) == 1
    assert await count(stack, "complaint", institution_id=recipient.institution_id) == 1


async def test_after_a_transfer_the_person_s_withdrawal_also_stops_what_the_sender_disclosed(
        stack, served, sender, referral_service):
    recipient, legal_aid = await stack.new_institution(kind="nhri"), await stack.new_institution(kind="legal_aid_ngo")
    code, reference = await public_complaint(served, {"other_institutions": True})
    async with await own(stack, served, sender) as a:
        complaint_id = await complaint_id_of(a, reference)
        earlier = (await a.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": legal_aid.institution_id, "recipient_kind": "legal_aid_ngo",
            "purpose": "legal_aid", "categories": ["narrative"]})).json()["grant_id"]
        grant_id = (await a.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "nhri", "purpose": "transfer",
            "categories": ["narrative"]})).json()["grant_id"]
    async with await exchanged(stack, served, recipient, referral_service) as b:
        taken = await b.post("/v1/transfers", json={"grant_id": grant_id, "referral_id": "ref-then-withdrawn"})
        assert taken.status_code == 201, taken.text
    async with await own(stack, served, legal_aid) as ngo:
        assert (await ngo.get(f"/v1/disclosures/{earlier}", headers=PURPOSE)).status_code == 200
        async with person(served, "198.51.100.243") as api:
            withdrawn = await api.post("/v1/public/consent/withdrawal", headers=receipt(code),
                                       json={"choices": ["other_institutions"]})
            assert withdrawn.status_code == 200, withdrawn.text
            assert withdrawn.json()["sharing"]["other_institutions"] is False
        gone = await ngo.get(f"/v1/disclosures/{earlier}", headers=PURPOSE)
        assert gone.status_code == 410 and gone.json()["reason"] == "consent_withdrawn"
    async with await own(stack, served, recipient) as b:
        consents = (await b.get(f"/v1/complaints/{taken.json()['complaint_id']}/consents",
                                params={"limit": 100})).json()["items"]
        assert sum(1 for c in consents if c["status"] == "withdrawn") == 3
