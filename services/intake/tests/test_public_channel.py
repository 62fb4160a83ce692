"""The public channel through its JSON API, against intake served in this process with a receiving
institution: submit with a proof-of-work, read the status with the receipt code, exchange messages
with the institution, add evidence, withdraw consent; wrong codes are 404 and the tenth in a minute
from one address is 429 with Retry-After; the form's honeypot and timing refuse a bot; the receiving
institution sees the complaint and the messages; no public route shows a complaint without its code."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime

import httpx
import pytest
from consent_evidence_kit import client
from public_kit import person, proof, public_intake, receipt
from sqlalchemy import text

from comitas_intake.public import domain
from comitas_shared.db import Database

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){5}$")
STORY = "Police officers took my brother Karim Haddad from our home in Lyon and beat him at the station."


@pytest.fixture(scope="module")
async def receiver(stack):
    return await stack.new_institution("Public channel receiver", kind="ombudsperson")


@pytest.fixture(scope="module")
async def served(stack, receiver, tmp_path_factory):
    app = await public_intake(stack, tmp_path_factory.mktemp("public-evidence"), receiver.institution_id)
    yield app
    await app.stop()


async def submit(api: httpx.AsyncClient, **fields) -> dict:
    body = {"story": STORY, "victim_name": "Karim Haddad", "is_victim": False, "relationship": "sibling",
            "contact": {"kind": "phone", "value": "+33 6 12 34 56 78", "safe_to_use": True},
            "respondent_states": ["FR"], "incident_date": "2026-10-03", "incident_place": "Lyon",
            "incident_country": "FR", "threatened": True, "language": "fr",
            "sharing": {"investigate": True, "other_institutions": True, "coordination": True},
            "proof_of_work": await proof(api)} | fields
    response = await api.post("/v1/public/complaints", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


async def complaint_of(institution: httpx.AsyncClient, reference: str) -> dict:
    listed = (await institution.get("/v1/complaints", params={"limit": 100})).json()["items"]
    return next(c for c in listed if c["reference"] == reference)


async def test_a_person_submits_follows_writes_adds_evidence_and_withdraws(stack, served, receiver):
    async with person(served, "198.51.100.10") as api, await client(stack, served, receiver) as institution:
        created = await submit(api)
        code = created["receipt_code"]
        assert CODE.match(code), code
        assert created["status"] == "Received" and "waiting" in created["status_text"]

        status = await api.get("/v1/public/status", headers=receipt(code))
        assert status.status_code == 200, status.text
        assert status.json()["reference"] == created["reference"] and status.json()["status"] == "received"
        assert status.json()["sharing"] == {"investigate": True, "international_bodies": False,
                                            "other_institutions": True, "coordination": True}
        # Typed in lower case with spaces and an O for a zero, it still opens the complaint.
        sloppy = code.lower().replace("-", " ").replace("0", "o")
        assert (await api.get("/v1/public/status", headers=receipt(sloppy))).status_code == 200

        # The receiving institution sees the complaint, on the public channel, with its story.
        found = await complaint_of(institution, created["reference"])
        assert found["channel"] == "public_form" and found["institution_id"] == receiver.institution_id
        read = await institution.get(f"/v1/complaints/{found['id']}", headers={"Comitas-Purpose": "handle complaint"})
        assert read.json()["summary"] == STORY
        assert read.json()["petitioner"]["contacts"][0]["value"] == "+33 6 12 34 56 78"
        assert read.json()["disclosure"]["coordination"] is True

        # Messages both ways; the person is never e-mailed: they read the answer here.
        sent = await api.post("/v1/public/messages", headers=receipt(code), json={"body": "He is still in custody."})
        assert sent.status_code == 201, sent.text
        thread = await institution.get(f"/v1/complaints/{found['id']}/public-messages")
        assert [m["body"] for m in thread.json()["items"]] == ["He is still in custody."]
        answer = await institution.post(f"/v1/complaints/{found['id']}/public-messages",
                                        json={"body": "We have written to the prosecutor."})
        assert answer.status_code == 201, answer.text
        mine = (await api.get("/v1/public/messages", headers=receipt(code))).json()["items"]
        assert [(m["sender"], m["body"]) for m in mine] == [("person", "He is still in custody."),
                                                             ("institution", "We have written to the prosecutor.")]
        audit = (await institution.get("/v1/audit", params={"limit": 100})).json()["items"]
        assert any(e["action"] == "public_messages.read" and e["subject_id"] == found["id"] for e in audit)

        # Evidence, streamed through the evidence service: the institution sees it, with its hash.
        content = b"Medical certificate: bruises on both arms, 4 October 2026."
        added = await api.post("/v1/public/evidence", params={"filename": "certificate.txt"}, content=content,
                               headers=receipt(code) | {"Content-Type": "text/plain"})
        assert added.status_code == 201, added.text
        assert added.json()["sha256"] == hashlib.sha256(content).hexdigest()
        items = (await institution.get(f"/v1/complaints/{found['id']}/evidence")).json()["items"]
        assert [i["sha256"] for i in items] == [hashlib.sha256(content).hexdigest()]
        custody = (await institution.get(f"/v1/complaints/{found['id']}/evidence/{items[0]['id']}/custody")).json()
        assert "public" in str(custody)

        # Withdrawal of one permission, through the consent service.
        withdrawn = await api.post("/v1/public/consent/withdrawal", headers=receipt(code),
                                   json={"choices": ["other_institutions"]})
        assert withdrawn.status_code == 200, withdrawn.text
        assert len(withdrawn.json()["withdrawn"]) == 3
        assert withdrawn.json()["sharing"]["other_institutions"] is False
        assert withdrawn.json()["sharing"]["investigate"] is True
        consents = (await institution.get(f"/v1/complaints/{found['id']}/consents", params={"limit": 100})).json()
        assert sum(1 for c in consents["items"] if c["status"] == "withdrawn") == 3
        assert all(c["channel"] == "public_channel" for c in consents["items"])
        status = (await api.get("/v1/public/status", headers=receipt(code))).json()
        assert status["messages"] == 2 and status["evidence"] == 1


async def test_wrong_codes_are_404_and_the_tenth_in_a_minute_is_429(served, receiver):
    async with person(served, "198.51.100.20") as api:
        created = await submit(api)
        for attempt in range(9):
            wrong = domain.format_code(f"{attempt:0>24}")
            response = await api.get("/v1/public/status", headers=receipt(wrong))
            assert response.status_code == 404, (attempt, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        tenth = await api.get("/v1/public/status", headers=receipt(domain.format_code("Z" * 24)))
        assert tenth.status_code == 429, tenth.text
        assert 0 < int(tenth.headers["Retry-After"]) <= 60
        # While the window is full, even the right code waits: the guess is not looked at.
        assert (await api.get("/v1/public/status", headers=receipt(created["receipt_code"]))).status_code == 429
    async with person(served, "198.51.100.21") as elsewhere:
        assert (await elsewhere.get("/v1/public/status",
                                    headers=receipt(created["receipt_code"]))).status_code == 200


async def test_proof_of_work_is_required_and_spent_once(served):
    async with person(served, "198.51.100.30") as api:
        body = {"story": STORY}
        assert (await api.post("/v1/public/complaints", json=body)).status_code == 422
        challenge = (await api.get("/v1/public/challenge")).json()
        bad = await api.post("/v1/public/complaints", json=body | {"proof_of_work": {
            "challenge": challenge["challenge"], "nonce": next(
                str(n) for n in range(10_000) if not domain.solves(challenge["challenge"], str(n), challenge["bits"]))}})
        assert bad.status_code == 422 and bad.json()["type"].endswith("proof-of-work-refused")
        forged = challenge["challenge"].rsplit(".", 1)[0] + ".0000"
        assert (await api.post("/v1/public/complaints", json=body | {"proof_of_work": {
            "challenge": forged, "nonce": "1"}})).status_code == 422
        good = {"challenge": challenge["challenge"], "nonce": domain.solve(challenge["challenge"], challenge["bits"])}
        assert (await api.post("/v1/public/complaints", json=body | {"proof_of_work": good})).status_code == 201
        again = await api.post("/v1/public/complaints", json=body | {"proof_of_work": good})
        assert again.status_code == 422 and "already used" in again.text


async def test_the_submission_limit_per_address_answers_429_with_retry_after(stack, receiver, tmp_path_factory):
    served = await public_intake(stack, tmp_path_factory.mktemp("limited"), receiver.institution_id,
                                 public_submission_limit="2/minute")
    try:
        async with person(served, "198.51.100.40") as api:
            for _ in range(2):
                response = await api.post("/v1/public/complaints",
                                          json={"story": STORY, "proof_of_work": await proof(api)})
                assert response.status_code == 201, response.text
            third = await api.post("/v1/public/complaints", json={"story": STORY, "proof_of_work": await proof(api)})
            assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
        too_big = {"story": "x" * 30_000, "proof_of_work": {"challenge": "c", "nonce": "n"}}
        async with person(served, "198.51.100.41") as api:
            assert (await api.post("/v1/public/complaints", json=too_big)).status_code in (413, 422)
    finally:
        await served.stop()


async def test_the_forms_honeypot_and_timing_refuse_a_bot(stack, served, receiver):
    async with person(served, "198.51.100.50") as browser, await client(stack, served, receiver) as institution:
        before = len((await institution.get("/v1/complaints", params={"limit": 100})).json()["items"])
        page = await browser.get("/public/complaints/new")
        assert page.status_code == 200 and '<html lang="en">' in page.text
        token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
        form = {"form_token": token, "story": STORY, "who": "victim"}
        # Filled at once: too fast for a person.
        assert (await browser.post("/public/complaints", data=form | {"website": ""})).status_code == 422
        await asyncio.sleep(1.1)
        page = await browser.get("/public/complaints/new")
        token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
        await asyncio.sleep(1.1)
        refused = await browser.post("/public/complaints", data=form | {"form_token": token,
                                                                         "website": "http://spam.example"})
        assert refused.status_code == 422 and "receipt code" not in refused.text.lower().split("</h1>")[1]
        after = len((await institution.get("/v1/complaints", params={"limit": 100})).json()["items"])
        assert after == before
        # The same form, sent by a person, works once; sent again it is refused.
        accepted = await browser.post("/public/complaints", data=form | {"form_token": token, "website": ""})
        assert accepted.status_code == 201, accepted.text
        assert CODE.search(re.search(r'id="receipt-code"[^>]*>([^<]+)<', accepted.text).group(1).strip())
        assert (await browser.post("/public/complaints", data=form | {"form_token": token})).status_code == 422


async def test_no_public_route_shows_a_complaint_without_its_code(stack, served, receiver):
    async with person(served, "198.51.100.60") as api:
        created = await submit(api)
        spec = (await api.get("/openapi.json")).json()
        routes = [(p, m) for p, item in spec["paths"].items() if p.startswith("/v1/public/")
                  for m in item if m in ("get", "post")]
        assert not [p for p, _ in routes if "{" in p], "a public route must not name a record in its path"
        for path, method in routes:
            if path in ("/v1/public/challenge", "/v1/public/complaints"):
                continue
            for headers in ({}, receipt(domain.format_code("A" * 24)), {"Authorization": "Bearer x"}):
                response = await api.request(method.upper(), path, headers=headers, json={"body": "x"})
                assert response.status_code in (401, 404, 411, 422), (path, response.status_code, response.text)
                assert created["reference"] not in response.text


async def test_the_channel_is_closed_without_a_receiving_institution(stack):
    async with httpx.AsyncClient(base_url=stack.intake.url) as api:
        response = await api.get("/v1/public/challenge")
        assert response.status_code == 503 and response.json()["type"].endswith("public-channel-closed")
        assert (await api.get("/public/complaints/new")).status_code == 503


async def test_the_receipt_code_is_stored_only_as_a_digest_and_a_slow_hash(stack, served):
    async with person(served, "198.51.100.70") as api:
        created = await submit(api)
    symbols = domain.normalise_code(created["receipt_code"])
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            rows = (await session.execute(text("SELECT lookup, salt, code_hash, log_n FROM public_receipt"))).all()
    finally:
        await database.dispose()
    assert all(symbols not in str(row) and created["receipt_code"] not in str(row) for row in rows)
    assert any(domain.verify_slow_hash(symbols, bytes(r.salt), bytes(r.code_hash), log_n=r.log_n) for r in rows)


def test_codes_tokens_and_proofs():
    key = b"k" * 32
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert domain.normalise_code("abcd efgh-jkmn pqrs-tvwx yz01") == "ABCDEFGHJKMNPQRSTVWXYZ01"
    assert domain.normalise_code("too short") is None and domain.normalise_code("U" * 24) is None
    token = domain.form_token(key, nonce="n1", issued_at=now)
    later = now.replace(second=5)
    assert domain.check_form(key, token=token, honeypot="", now=later, min_seconds=4, max_seconds=60).nonce == "n1"
    for honeypot, at in (("bot", later), ("", now.replace(second=1)), ("", now.replace(minute=5))):
        with pytest.raises(Exception, match="person|quickly|old"):
            domain.check_form(key, token=token, honeypot=honeypot, now=at, min_seconds=4, max_seconds=60)
    with pytest.raises(Exception, match="served"):
        domain.check_form(b"other" * 7, token=token, honeypot="", now=later, min_seconds=4, max_seconds=60)
    # Issued late in a second and sent back 3.3 s later: still too quick (whole seconds would say 4).
    late = domain.form_token(key, nonce="n2", issued_at=now.replace(microsecond=900_000))
    with pytest.raises(Exception, match="quickly"):
        domain.check_form(key, token=late, honeypot="", now=now.replace(second=4, microsecond=200_000),
                          min_seconds=4, max_seconds=60)
    challenge = domain.challenge_token(key, nonce="c1", bits=10, expires_at=now.replace(minute=10))
    nonce = domain.solve(challenge, 10)
    assert domain.leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) >= 10
    assert domain.check_proof(key, challenge=challenge, nonce=nonce, now=now, min_bits=10) == "c1"
    with pytest.raises(Exception, match="easier"):
        domain.check_proof(key, challenge=challenge, nonce=nonce, now=now, min_bits=12)
    with pytest.raises(Exception, match="expired"):
        domain.check_proof(key, challenge=challenge, nonce=nonce, now=now.replace(hour=1), min_bits=10)
    assert domain.leading_zero_bits(b"\x00\x0f") == 12 and domain.leading_zero_bits(b"\x80") == 0
