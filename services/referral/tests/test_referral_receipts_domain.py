"""Receipts' pure functions: what a receipt says, and every way a chain can be broken being found
(altered, missing in the middle, cut off at the end given the head, reordered, mixed with another
referral's, signed by an unknown key), also across a key rotation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest
from joserfc.jwk import ECKey

from comitas_referral.receipts import domain
from comitas_referral.receipts.domain import Head, ReceiptFacts
from comitas_shared.errors import InvalidInput

ISSUER = "https://referral.comitas.test"
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SENDER, RECIPIENT = "inst-sender", "inst-recipient"
TRANSITIONS = [("sent", SENDER, {"identity": "a" * 64, "narrative": "b" * 64}, None),
               ("acknowledged", RECIPIENT, None, None),
               ("message_posted", SENDER, None, "c" * 64),
               ("accepted", RECIPIENT, None, None)]


def new_key() -> ECKey:
    key = ECKey.generate_key(domain.CURVE, parameters={"alg": domain.ALGORITHM, "use": "sig"}, private=True)
    key.ensure_kid()
    return key


def jwks(*keys: ECKey) -> dict[str, list[dict[str, object]]]:
    return {"keys": [dict(k.as_dict(private=False), alg=domain.ALGORITHM, use="sig") for k in keys]}


def chain(keys: list[ECKey], referral_id: str = "ref-1", steps=TRANSITIONS) -> list[str]:
    """One receipt per step; step i is signed with keys[min(i, len(keys)-1)] (a rotation mid-chain)."""
    receipts: list[str] = []
    previous = None
    for index, (transition, actor, digests, message_hash) in enumerate(steps):
        facts = ReceiptFacts(referral_id=referral_id, sequence=index + 1, transition=transition,
                             acting_institution_id=actor, at=AT + timedelta(hours=index), previous_hash=previous,
                             digests=digests, message_hash=message_hash)
        compact = domain.sign(facts, issuer=ISSUER, key=keys[min(index, len(keys) - 1)])
        receipts.append(compact)
        previous = domain.receipt_hash(compact)
    return receipts


def kinds(report: domain.ChainReport) -> set[str]:
    return {f.kind for f in report.findings}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_receipt_says_what_the_platform_recorded_and_that_it_is_its_attestation():
    key = new_key()
    compact = chain([key])[0]
    header = domain.header_of(compact)
    assert header == {"alg": "ES256", "kid": key.kid, "typ": domain.MEDIA_TYPE}
    claims = domain.verify_receipt(compact, domain.key_set(jwks(key)), issuer=ISSUER)
    assert claims == {
        "format": domain.FORMAT, "iss": ISSUER, "referral_id": "ref-1", "sequence": 1, "transition": "sent",
        "acting_institution_id": SENDER, "at": "2026-03-02T09:30:00Z",
        "digests": {"identity": "a" * 64, "narrative": "b" * 64}, "message_hash": None, "previous_hash": None,
        "attestation": domain.STATEMENT}
    assert "not a signature of the sending or the receiving institution" in domain.STATEMENT


def test_the_payload_is_canonical_json_whatever_the_order_of_the_digests():
    key = new_key()
    one = ReceiptFacts("r", 1, "sent", SENDER, AT, None, digests={"b": "2", "a": "1"})
    two = ReceiptFacts("r", 1, "sent", SENDER, AT.astimezone(UTC), None, digests={"a": "1", "b": "2"})
    first, second = domain.sign(one, issuer=ISSUER, key=key), domain.sign(two, issuer=ISSUER, key=key)
    assert first.split(".")[1] == second.split(".")[1]
    assert unb64(first.split(".")[1]) == domain.canonical_json(domain.receipt_claims(one, issuer=ISSUER))


def test_the_receipt_hash_is_sha256_of_the_compact_serialisation():
    import hashlib

    compact = chain([new_key()])[0]
    assert domain.receipt_hash(compact) == hashlib.sha256(compact.encode()).hexdigest()
    assert domain.is_sha256_hex(domain.receipt_hash(compact))


@pytest.mark.parametrize(("facts", "slug"), [
    (ReceiptFacts("r", 0, "sent", SENDER, AT, None), "receipt-sequence"),
    (ReceiptFacts("r", 1, "sent", SENDER, AT, "a" * 64), "receipt-previous-hash"),
    (ReceiptFacts("r", 2, "sent", SENDER, AT, None), "receipt-previous-hash"),
    (ReceiptFacts("r", 2, "sent", SENDER, AT, "XYZ"), "receipt-previous-hash"),
    (ReceiptFacts("r", 1, "sent", SENDER, AT, None, digests={"a": "1"}, message_hash="m"), "receipt-content"),
    (ReceiptFacts("", 1, "sent", SENDER, AT, None), "receipt-facts"),
    (ReceiptFacts("r", 1, "", SENDER, AT, None), "receipt-facts"),
    (ReceiptFacts("r", 1, "sent", "", AT, None), "receipt-facts"),
    (ReceiptFacts("r", 1, "sent", SENDER, datetime(2026, 3, 2, 9, 30), None), "naive-time"),
])
def test_facts_that_would_break_a_chain_are_refused(facts, slug):
    with pytest.raises(InvalidInput) as refused:
        domain.receipt_claims(facts, issuer=ISSUER)
    assert refused.value.slug == slug


def test_an_intact_chain_verifies_and_its_end_is_the_head():
    key = new_key()
    receipts = chain([key])
    report = domain.verify_chain(receipts, jwks(key), referral_id="ref-1", issuer=ISSUER,
                                 head=Head(4, domain.receipt_hash(receipts[-1])))
    assert report.ok, report.findings
    assert report.receipts == 4
    assert report.last == Head(4, domain.receipt_hash(receipts[-1]))
    assert [c["transition"] for c in report.claims] == ["sent", "acknowledged", "message_posted", "accepted"]


def test_a_head_from_an_earlier_event_matches_the_receipt_it_names():
    key = new_key()
    receipts = chain([key])
    assert domain.verify_chain(receipts, jwks(key), head=Head(2, domain.receipt_hash(receipts[1]))).ok
    wrong = domain.verify_chain(receipts, jwks(key), head=Head(2, domain.receipt_hash(receipts[2])))
    assert not wrong.ok and kinds(wrong) == {"head-mismatch"} and wrong.first_bad_position == 2


def test_an_altered_receipt_is_found():
    key = new_key()
    receipts = chain([key])
    header, payload, signature = receipts[1].split(".")
    claims = json.loads(unb64(payload))
    claims["acting_institution_id"] = SENDER
    receipts[1] = ".".join([header, b64(domain.canonical_json(claims)), signature])
    report = domain.verify_chain(receipts, jwks(key))
    assert not report.ok
    assert report.first_bad_position == 2
    # The altered one fails its signature, and the next no longer follows it.
    assert [(f.position, f.kind) for f in report.findings] == [(2, "altered"), (3, "broken-link")]


def test_a_receipt_removed_from_the_middle_is_found():
    key = new_key()
    receipts = chain([key])
    del receipts[1]
    report = domain.verify_chain(receipts, jwks(key))
    assert not report.ok
    assert report.first_bad_position == 2
    assert {"missing-or-reordered", "broken-link"} <= kinds(report)


def test_the_last_receipt_removed_is_found_against_the_head():
    key = new_key()
    receipts = chain([key])
    head = Head(4, domain.receipt_hash(receipts[-1]))
    cut = receipts[:-1]
    # Without the head a cut chain is indistinguishable from a shorter one: that is what the head is for.
    assert domain.verify_chain(cut, jwks(key)).ok
    report = domain.verify_chain(cut, jwks(key), head=head)
    assert not report.ok and kinds(report) == {"truncated"} and report.first_bad_position == 4
    everything_removed = domain.verify_chain([], jwks(key), head=head)
    assert not everything_removed.ok and kinds(everything_removed) == {"truncated"}


def test_the_last_receipt_replaced_by_a_validly_signed_other_is_found_against_the_head():
    """Even with the signing key (a compromised server), a different last receipt has a different hash."""
    key = new_key()
    receipts = chain([key])
    head = Head(4, domain.receipt_hash(receipts[-1]))
    forged = ReceiptFacts("ref-1", 4, "declined", RECIPIENT, AT + timedelta(hours=3),
                          previous_hash=domain.receipt_hash(receipts[2]))
    receipts[-1] = domain.sign(forged, issuer=ISSUER, key=key)
    assert domain.verify_chain(receipts, jwks(key)).ok
    report = domain.verify_chain(receipts, jwks(key), head=head)
    assert kinds(report) == {"head-mismatch"}


def test_reordered_receipts_are_found():
    key = new_key()
    receipts = chain([key])
    receipts[1], receipts[2] = receipts[2], receipts[1]
    report = domain.verify_chain(receipts, jwks(key))
    assert not report.ok
    assert report.first_bad_position == 2
    assert {"missing-or-reordered", "broken-link"} <= kinds(report)


def test_a_repeated_receipt_is_found():
    key = new_key()
    receipts = chain([key])
    receipts.insert(2, receipts[1])
    report = domain.verify_chain(receipts, jwks(key))
    assert not report.ok and report.first_bad_position == 3


def test_a_receipt_of_another_referral_is_found():
    key = new_key()
    receipts = chain([key])
    other = chain([key], referral_id="ref-2")
    receipts[1] = other[1]
    report = domain.verify_chain(receipts, jwks(key), referral_id="ref-1")
    assert "wrong-referral" in kinds(report)
    assert "broken-link" in kinds(report)


def test_a_chain_spanning_a_key_rotation_verifies_while_both_keys_are_published():
    old, new = new_key(), new_key()
    receipts = chain([old, old, new, new])
    assert {domain.header_of(r)["kid"] for r in receipts} == {old.kid, new.kid}
    assert domain.verify_chain(receipts, jwks(new, old)).ok
    pruned = domain.verify_chain(receipts, jwks(new))
    assert [(f.position, f.kind) for f in pruned.findings] == [(1, "unknown-key"), (2, "unknown-key")]


def test_a_receipt_signed_by_a_foreign_key_with_a_known_kid_does_not_verify():
    ours, theirs = new_key(), new_key()
    impostor = ECKey.import_key(theirs.as_dict(private=True), parameters={"kid": ours.kid})
    receipts = chain([ours])
    receipts[3] = domain.sign(ReceiptFacts("ref-1", 4, "declined", RECIPIENT, AT,
                                           domain.receipt_hash(receipts[2])), issuer=ISSUER, key=impostor)
    report = domain.verify_chain(receipts, jwks(ours))
    assert [(f.position, f.kind) for f in report.findings] == [(4, "altered")]


def test_other_issuers_and_non_receipts_are_refused():
    key = new_key()
    receipts = chain([key])
    assert kinds(domain.verify_chain(receipts, jwks(key), issuer="https://elsewhere")) == {"wrong-issuer"}
    token_like = pyjwt.encode({"sub": "x"}, key.as_pem(private=True), algorithm="ES256", headers={"kid": key.kid})
    assert "malformed" in kinds(domain.verify_chain([token_like], jwks(key)))
    assert "malformed" in kinds(domain.verify_chain(["not a jws"], jwks(key)))


def test_each_receipt_verifies_with_an_independent_jose_library():
    """PyJWT, not joserfc (the signer's library), reads each receipt with the published JWKS."""
    old, new = new_key(), new_key()
    receipts = chain([old, new])
    published = pyjwt.PyJWKSet.from_dict(jwks(old, new))
    for index, compact in enumerate(receipts, start=1):
        kid = pyjwt.get_unverified_header(compact)["kid"]
        claims = pyjwt.decode(compact, published[kid].key, algorithms=["ES256"], issuer=ISSUER)
        assert claims["sequence"] == index and claims["referral_id"] == "ref-1"
