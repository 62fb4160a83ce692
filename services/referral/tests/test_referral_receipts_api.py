"""Issue 10, acceptance 4, on the served referral service (real identity tokens, real intake, real NATS):
each receipt of a real referral verifies with PyJWT (not joserfc, the signer's library) against the JWKS
fetched over HTTP, also after a key rotation made with the command; the head is on the referral and in
every event; a receipt altered, removed from the middle, reordered or removed from the end in referral's
database is detected by the verify function and by the command; two writers of one referral's next
receipt cannot fork the chain."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
from referral_testkit import (
    RECIPIENT_PROFILE,
    REFERRAL,
    act,
    client,
    close_parties,
    complaint,
    consent,
    new_party,
    refer,
    subscribe,
)
from sqlalchemy import text

from comitas_referral.receipts import domain, service
from comitas_referral.receipts import repository as receipts_repository
from comitas_referral.receipts.__main__ import main as command
from comitas_referral.referrals import service as referrals_service
from comitas_shared.db import Database
from comitas_shared.testing import eventually

ROOT = Path(__file__).resolve().parents[3]
SENDER_PROFILE = {"time_zone": "Europe/Paris", "languages": ["fr"], "accepts_referrals": True,
                  "referral_kinds": ["referral"], "referral_purposes": ["investigate"],
                  "mandate": {"subject_areas": ["general"], "countries": ["FR"]}}


async def parties(stack: Any, referral: Any) -> tuple[Any, Any, Any]:
    a = await new_party(stack, referral, "Receipts sender", country="FR", kind="ombudsperson", profile=SENDER_PROFILE)
    b = await new_party(stack, referral, "Receipts recipient", country="IT", profile=RECIPIENT_PROFILE)
    c = await new_party(stack, referral, "Receipts bystander", country="IT", profile=RECIPIENT_PROFILE)
    return a, b, c


async def sent_referral(a: Any, b: Any) -> dict[str, Any]:
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    return await refer(a, complaint_id, b)


async def jwks_over_http(referral: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=referral.served.url, timeout=30) as anonymous:
        answer = await anonymous.get("/.well-known/jwks.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    return dict(answer.json())


async def chain_of(party: Any, rid: str) -> dict[str, Any]:
    answer = await party.referral.get(f"/v1/referrals/{rid}/receipts")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def verified_by_pyjwt(compact: str, jwks: dict[str, Any], issuer: str) -> dict[str, Any]:
    """What a partner does with a receipt: PyJWT, the key its kid names in the published JWKS, ES256 only."""
    header = pyjwt.get_unverified_header(compact)
    assert header["alg"] == "ES256" and header["typ"] == domain.MEDIA_TYPE
    key = pyjwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    return dict(pyjwt.decode(compact, key.key, algorithms=["ES256"], issuer=issuer))


async def rotate_with_the_command(referral: Any) -> str:
    env = {**os.environ, "COMITAS_REFERRAL_DATABASE_URL": referral.database_url,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "services" / "referral"), os.environ.get("PYTHONPATH", "")])}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "comitas_referral.receipts", "rotate"],
                                   capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().rsplit(" ", 1)[-1]


async def test_every_receipt_verifies_with_pyjwt_against_the_served_jwks_also_after_a_rotation(stack, referral,
                                                                                                 receivers):
    a, b, c = await parties(stack, referral)
    a_hook, b_hook, _ = receivers
    await subscribe(stack, a, a_hook)
    await subscribe(stack, b, b_hook)
    try:
        sent = await sent_referral(a, b)
        rid = sent["id"]
        await act(b, rid, "acknowledge")
        before_rotation = await chain_of(a, rid)
        first_kid = domain.header_of(before_rotation["receipts"][0]["jws"])["kid"]

        new_kid = await rotate_with_the_command(referral)
        assert new_kid != first_kid

        asked = await b.referral.post(f"/v1/referrals/{rid}/information-requests",
                                      json={"question": "Who else witnessed the return?"})
        assert asked.status_code == 201, asked.text
        answer = await a.referral.post(f"/v1/referrals/{rid}/messages",
                                       json={"body": "Two other travellers.", "answers": asked.json()["id"]})
        assert answer.status_code == 201, answer.text
        posted = await b.referral.post(f"/v1/referrals/{rid}/messages", json={"body": "Thank you."})
        assert posted.status_code == 201, posted.text
        accepted = await act(b, rid, "accept")

        chain = await chain_of(a, rid)
        assert chain == await chain_of(b, rid)
        assert (await c.referral.get(f"/v1/referrals/{rid}/receipts")).status_code == 404
        issuer = referral.served.url
        assert chain["issuer"] == issuer and chain["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
        assert chain["statement"] == domain.STATEMENT
        receipts = chain["receipts"]
        # The head is the referral's own record of the chain's end.
        assert chain["head"] == {"sequence": accepted["receipt_sequence"], "hash": accepted["receipt_hash"]}
        assert receipts[-1]["sequence"] == accepted["receipt_sequence"] == len(receipts)
        assert receipts[-1]["hash"] == accepted["receipt_hash"]

        jwks = await jwks_over_http(referral)
        assert {k["kid"] for k in jwks["keys"]} >= {first_kid, new_kid}
        claims = [verified_by_pyjwt(r["jws"], jwks, issuer) for r in receipts]
        kids = [domain.header_of(r["jws"])["kid"] for r in receipts]
        assert kids[0] == first_kid and kids[-1] == new_kid

        transitions = [c["transition"] for c in claims]
        assert transitions[0] == "sent" and transitions[-1] == "accepted"
        assert {"acknowledged", "information_requested", "information_provided", "message_posted"} <= set(transitions)
        assert claims[0]["digests"] == sent["packet"]["digests"] and claims[0]["message_hash"] is None
        assert claims[0]["acting_institution_id"] == a.id and claims[-1]["acting_institution_id"] == b.id
        provided = claims[transitions.index("information_provided")]
        assert provided["message_hash"] == answer.json()["message_hash"] and provided["digests"] is None
        thanked = [c for c in claims if c["transition"] == "message_posted" and c["acting_institution_id"] == b.id]
        assert thanked and thanked[-1]["message_hash"] == posted.json()["message_hash"]
        for index, (receipt, claim) in enumerate(zip(receipts, claims, strict=True), start=1):
            assert claim["sequence"] == receipt["sequence"] == index
            assert claim["referral_id"] == rid and claim["attestation"] == domain.STATEMENT
            assert claim["previous_hash"] == (receipts[index - 2]["hash"] if index > 1 else None)
            assert receipt["hash"] == domain.receipt_hash(receipt["jws"])
            assert "exp" not in claim
        head = domain.Head(chain["head"]["sequence"], chain["head"]["hash"])
        assert domain.verify_chain([r["jws"] for r in receipts], jwks, referral_id=rid, head=head, issuer=issuer).ok

        # Every event carries the head as it was then; each names a receipt of this chain.
        hashes = {r["sequence"]: r["hash"] for r in receipts}
        for hook in (a_hook, b_hook):
            await eventually(lambda hook=hook: "comitas.referral.accepted" in hook.types(rid), timeout=30)
            events = [e for e in hook.received if e.get("subject") == rid]
            assert events and all(hashes[e["data"]["receipt_sequence"]] == e["data"]["receipt_hash"] for e in events)
            accepted_event = next(e for e in events if e["type"] == "comitas.referral.accepted")
            assert accepted_event["data"]["receipt_sequence"] == len(receipts)

        # The command, given the receipts URL and a token, checks the same chain over HTTP.
        token = a.referral.headers["Authorization"].split(" ", 1)[1]
        url = f"{referral.served.url}/v1/referrals/{rid}/receipts"
        assert await asyncio.to_thread(command, ["verify", url, "--token", token]) == 0
    finally:
        await close_parties(a, b, c)


async def execute(referral: Any, sql: str, **params: Any) -> None:
    database = Database(referral.database_url)
    try:
        async with database.transaction() as session:
            await session.execute(text(sql), params)
    finally:
        await database.dispose()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_receipts_altered_removed_or_reordered_in_the_database_are_detected(stack, referral, tmp_path, capsys):
    a, b, c = await parties(stack, referral)
    backup = f"receipt_backup_{uuid.uuid4().hex[:8]}"
    try:
        rid = (await sent_referral(a, b))["id"]
        await act(b, rid, "acknowledge")
        for body in ("First note.", "Second note."):
            assert (await a.referral.post(f"/v1/referrals/{rid}/messages", json={"body": body})).status_code == 201
        await act(b, rid, "accept")
        intact = await chain_of(b, rid)
        jwks = await jwks_over_http(referral)
        count = len(intact["receipts"])
        assert count >= 5 and domain.verify_chain([r["jws"] for r in intact["receipts"]], jwks,
                                                  head=domain.Head(**intact["head"])).ok
        keys = tmp_path / "jwks.json"
        keys.write_text(json.dumps(jwks))
        # A copy of the intact chain beside it, to put back after each break (no parameters in DDL).
        await execute(referral, f"CREATE TABLE {backup} AS SELECT * FROM referral_receipt WHERE 1 = 0")
        await execute(referral, f"INSERT INTO {backup} SELECT * FROM referral_receipt WHERE referral_id = :r", r=rid)

        async def findings() -> tuple[set[str], int]:
            """The verify function's and the command's verdicts on the chain as the service now serves it
            (with the head the referral records)."""
            served = await chain_of(b, rid)
            report = domain.verify_chain([r["jws"] for r in served["receipts"]], jwks, referral_id=rid,
                                         head=domain.Head(**served["head"]))
            path = tmp_path / "served.json"
            path.write_text(json.dumps(served))
            status = command(["verify", str(path), "--jwks", str(keys)])
            capsys.readouterr()
            return {f.kind for f in report.findings}, status

        async def restore() -> None:
            await execute(referral, "DELETE FROM referral_receipt WHERE referral_id = :r", r=rid)
            await execute(referral, f"INSERT INTO referral_receipt SELECT * FROM {backup}")
            assert await findings() == (set(), 0)

        # Altered: the stored JWS now says another institution acted.
        third = intact["receipts"][2]["jws"]
        header, _, signature = third.split(".")
        claims = domain.unverified_claims(third) | {"acting_institution_id": c.id}
        forged = ".".join([header, b64(domain.canonical_json(claims)), signature])
        await execute(referral, "UPDATE referral_receipt SET jws = :j WHERE referral_id = :r AND sequence = 3",
                      j=forged, r=rid)
        kinds, status = await findings()
        assert "altered" in kinds and status == 1
        await restore()

        # Removed from the middle.
        await execute(referral, "DELETE FROM referral_receipt WHERE referral_id = :r AND sequence = 3", r=rid)
        kinds, status = await findings()
        assert {"missing-or-reordered", "broken-link"} <= kinds and status == 1
        await restore()

        # Reordered: receipts 2 and 3 swap places.
        for old, new in ((2, 1000), (3, 2), (1000, 3)):
            await execute(referral, "UPDATE referral_receipt SET sequence = :new WHERE referral_id = :r AND sequence = :old",
                          new=new, old=old, r=rid)
        kinds, status = await findings()
        assert {"missing-or-reordered", "broken-link"} <= kinds and status == 1
        await restore()

        # Removed from the end: the rest is a valid shorter chain, but the referral's head says more.
        await execute(referral, "DELETE FROM referral_receipt WHERE referral_id = :r AND sequence = :s",
                      r=rid, s=count)
        assert domain.verify_chain([r["jws"] for r in (await chain_of(b, rid))["receipts"]], jwks).ok
        kinds, status = await findings()
        assert kinds == {"truncated"} and status == 1
        await restore()
    finally:
        await execute(referral, f"DROP TABLE IF EXISTS {backup}")
        await close_parties(a, b, c)


async def test_two_writers_of_the_next_receipt_cannot_fork_the_chain(stack, referral, monkeypatch):
    """Two transactions both read receipt n as the last, then both write n+1: exactly one commits (the
    other's insert breaks the unique key and its transaction rolls back), and the chain still verifies."""
    a, b, c = await parties(stack, referral)
    try:
        rid = (await sent_referral(a, b))["id"]
        signer = referral.app.state.receipt_signer
        before = await chain_of(a, rid)
        both_read = asyncio.Barrier(2)
        original_last = receipts_repository.last

        async def last_then_wait(session: Any, viewer: Any, referral_id: str) -> Any:
            found = await original_last(session, viewer, referral_id)
            if referral_id == rid:
                await asyncio.wait_for(both_read.wait(), timeout=30)
            return found

        monkeypatch.setattr(receipts_repository, "last", last_then_wait)
        database = Database(referral.database_url)
        now = referral.app.state.platform.clock()

        async def writer(actor: str) -> Any:
            async with database.transaction() as session:
                row = await referrals_service.visible_referral(session, actor, rid)
                return await service.attest(session, signer, referral=row, transition="message_posted",
                                            actor_institution_id=actor, at=now, message_hash="d" * 64)

        try:
            results = await asyncio.gather(writer(a.id), writer(b.id), return_exceptions=True)
        finally:
            await database.dispose()
            monkeypatch.undo()
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, results
        # The unique key (referral_id, sequence) refused the second insert: 409 concurrent-transition.
        assert isinstance(lost[0], service.ReceiptRace) and lost[0].status == 409, repr(lost[0])
        after = await chain_of(a, rid)
        assert len(after["receipts"]) == len(before["receipts"]) + 1
        assert after["receipts"][-1]["hash"] == won[0].hash
        jwks = await jwks_over_http(referral)
        assert domain.verify_chain([r["jws"] for r in after["receipts"]], jwks, referral_id=rid).ok
    finally:
        await close_parties(a, b, c)


async def test_receipts_need_a_token_with_referrals_read_and_the_jwks_none(stack, referral):
    a, b, c = await parties(stack, referral)
    try:
        rid = (await sent_referral(a, b))["id"]
        path = f"/v1/referrals/{rid}/receipts"
        async with httpx.AsyncClient(base_url=referral.served.url, timeout=30) as anonymous:
            assert (await anonymous.get(path)).status_code == 401
            assert (await anonymous.get("/.well-known/jwks.json")).status_code == 200
        async with await client(stack, a.credentials, referral.served.url, REFERRAL, "referrals:write") as narrow:
            refused = await narrow.get(path)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
        assert (await a.referral.get("/v1/referrals/no-such-referral/receipts")).status_code == 404
    finally:
        await close_parties(a, b, c)
