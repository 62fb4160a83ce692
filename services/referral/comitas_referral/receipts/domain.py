"""Attested receipts, with no I/O: what a receipt says, how it is hashed, and how a chain is verified.

A receipt is a compact JWS (RFC 7515, ES256) signed by the referral service over a JSON payload that
attests one hand-over the platform recorded (docs/adr/0061-referral-receipts.md):

- the referral, a sequence number (1, 2, … per referral), the transition, the acting institution and
  the time;
- what was handed over: the salted per-category digests of a disclosure, or the hash of a message;
- ``previous_hash``: the SHA-256 of the previous receipt's compact serialisation (``None`` for the
  first), so each receipt commits to the whole chain before it;
- the issuer, and a statement that this is the platform's attestation, not the recipient's signature.

The payload is a JSON object with no time claims that JWT libraries would enforce (no ``exp``: a
receipt must verify for as long as the case lives), so a partner can check it with any JOSE or JWT
library against the service's JWKS. :func:`verify_chain` is what this codebase (and its verify command)
uses: it names the first receipt that is altered, missing, reordered, out of place or cut off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from comitas_shared.canonical import canonical_json
from comitas_shared.errors import InvalidInput

ALGORITHM = "ES256"
CURVE = "P-256"
# The JWS "typ" (RFC 7515 §4.1.9): says what this object is, so a receipt is never mistaken for a token.
MEDIA_TYPE = "comitas-referral-receipt+jwt"
FORMAT = "comitas.referral.receipt/v1"
STATEMENT = ("Platform attestation: the Comitas referral service signed this record of what it registered. "
             "It is not a signature of the sending or the receiving institution.")
SHA256_HEX_LENGTH = 64
# What a claim set must hold to be a receipt of this format (the rest is checked value by value).
REQUIRED_CLAIMS = ("format", "iss", "referral_id", "sequence", "transition", "acting_institution_id", "at",
                   "digests", "message_hash", "previous_hash", "attestation")


@dataclass(frozen=True)
class ReceiptFacts:
    """What one receipt attests. ``digests`` (category → digest) for a disclosure, ``message_hash`` for a
    message; a transition that hands nothing over carries neither."""

    referral_id: str
    sequence: int
    transition: str
    acting_institution_id: str
    at: datetime
    previous_hash: str | None
    digests: Mapping[str, str] | None = None
    message_hash: str | None = None


@dataclass(frozen=True)
class Head:
    """The end of a chain as recorded elsewhere (on the referral, in each event): its last receipt's
    sequence number and hash. A chain that ends before it was cut off."""

    sequence: int
    hash: str


def utc_text(at: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``: one spelling of one instant, whatever the database gave back."""
    if at.tzinfo is None:
        raise InvalidInput("a receipt's time must be timezone-aware", slug="naive-time")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def receipt_claims(facts: ReceiptFacts, *, issuer: str) -> dict[str, Any]:
    """The payload of the receipt ``facts`` describe; refuses facts that would make a broken chain."""
    if facts.sequence < 1:
        raise InvalidInput("receipt sequence numbers start at 1", slug="receipt-sequence")
    if (facts.sequence == 1) != (facts.previous_hash is None):
        raise InvalidInput("the first receipt has no previous hash, and every later one has one",
                           slug="receipt-previous-hash")
    if facts.previous_hash is not None and not is_sha256_hex(facts.previous_hash):
        raise InvalidInput("a previous receipt hash is 64 lower-case hex digits", slug="receipt-previous-hash")
    if facts.digests is not None and facts.message_hash is not None:
        raise InvalidInput("a receipt attests either a disclosure's digests or a message's hash",
                           slug="receipt-content")
    for name, value in (("referral_id", facts.referral_id), ("transition", facts.transition),
                        ("acting_institution_id", facts.acting_institution_id)):
        if not value:
            raise InvalidInput(f"{name} is required on a receipt", slug="receipt-facts")
    return {
        "format": FORMAT,
        "iss": issuer,
        "referral_id": facts.referral_id,
        "sequence": facts.sequence,
        "transition": facts.transition,
        "acting_institution_id": facts.acting_institution_id,
        "at": utc_text(facts.at),
        "digests": dict(sorted(facts.digests.items())) if facts.digests is not None else None,
        "message_hash": facts.message_hash,
        "previous_hash": facts.previous_hash,
        "attestation": STATEMENT,
    }


def protected_header(kid: str) -> dict[str, str]:
    return {"alg": ALGORITHM, "kid": kid, "typ": MEDIA_TYPE}


def sign(facts: ReceiptFacts, *, issuer: str, key: ECKey) -> str:
    """The compact JWS of ``facts``, signed with ``key`` (whose ``kid`` goes in the header)."""
    return jws.serialize_compact(protected_header(key.kid or ""), canonical_json(receipt_claims(facts, issuer=issuer)),
                                 key, algorithms=[ALGORITHM])


def receipt_hash(compact: str) -> str:
    """SHA-256 (hex) of a receipt's compact serialisation: what the next receipt and the head point at."""
    return hashlib.sha256(compact.strip().encode("ascii", errors="replace")).hexdigest()


def is_sha256_hex(value: str) -> bool:
    return len(value) == SHA256_HEX_LENGTH and all(c in "0123456789abcdef" for c in value)


def _json_segment(segment: str) -> dict[str, Any]:
    """One base64url segment of a compact JWS as a JSON object; ``{}`` if it is not one."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def header_of(compact: str) -> dict[str, Any]:
    """The protected header, decoded without verifying anything (to find the key id)."""
    return _json_segment(compact.strip().split(".")[0])


def unverified_claims(compact: str) -> dict[str, Any]:
    """The payload, decoded without verifying anything (for display of a stored receipt; evidence is
    only what :func:`verify_receipt` accepts)."""
    parts = compact.strip().split(".")
    return _json_segment(parts[1]) if len(parts) == 3 else {}


def key_set(jwks: Mapping[str, Any] | KeySet) -> KeySet:
    """A JWKS document (``{"keys": [...]}``) as a key set; EC signing keys only, others are ignored."""
    if isinstance(jwks, KeySet):
        return jwks
    keys = [ECKey.import_key(dict(jwk)) for jwk in jwks.get("keys", [])
            if isinstance(jwk, Mapping) and jwk.get("kty") == "EC" and jwk.get("kid")]
    return KeySet(list(keys))


# --- verification ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One thing wrong with a chain: which receipt (its position from 1, and the sequence it claims, if
    it could be read), what kind of break, and in words."""

    position: int | None
    kind: str
    detail: str


@dataclass
class ChainReport:
    referral_id: str | None
    receipts: int
    ok: bool = True
    findings: list[Finding] = field(default_factory=list)
    # The chain's own end, as recomputed (what a head on the referral or an event must match).
    last: Head | None = None
    claims: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, position: int | None, kind: str, detail: str) -> None:
        self.ok = False
        self.findings.append(Finding(position, kind, detail))

    @property
    def first_bad_position(self) -> int | None:
        positions = [f.position for f in self.findings if f.position is not None]
        return min(positions) if positions else None


def verify_receipt(compact: str, keys: KeySet, *, issuer: str | None = None) -> dict[str, Any]:
    """The claims of one receipt whose signature, header and payload are sound; raises
    :class:`InvalidReceipt` (with the kind of problem) otherwise."""
    header = header_of(compact)
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM:
        raise InvalidReceipt("malformed", f"not an {ALGORITHM} JWS (alg {header.get('alg')!r})")
    if header.get("typ") != MEDIA_TYPE:
        raise InvalidReceipt("malformed", f"not a referral receipt (typ {header.get('typ')!r})")
    if not isinstance(kid, str) or not kid:
        raise InvalidReceipt("malformed", "no key id in the header")
    try:
        key = keys.get_by_kid(kid)
    except (JoseError, ValueError, KeyError):
        raise InvalidReceipt("unknown-key", f"signed with key {kid}, which the key set does not hold") from None
    try:
        verified = jws.deserialize_compact(compact.strip(), key, algorithms=[ALGORITHM])
    except JoseError as exc:
        raise InvalidReceipt("altered", f"the signature does not verify ({exc.error})") from None
    except (ValueError, binascii.Error):
        raise InvalidReceipt("malformed", "not a compact JWS") from None
    try:
        claims = json.loads(verified.payload)
    except (ValueError, UnicodeDecodeError):
        raise InvalidReceipt("malformed", "the payload is not JSON") from None
    if not isinstance(claims, dict) or any(name not in claims for name in REQUIRED_CLAIMS):
        raise InvalidReceipt("malformed", "the payload is not a referral receipt")
    if claims["format"] != FORMAT:
        raise InvalidReceipt("malformed", f"unknown receipt format {claims['format']!r}")
    if not isinstance(claims["sequence"], int) or isinstance(claims["sequence"], bool):
        raise InvalidReceipt("malformed", "the sequence number is not an integer")
    if issuer is not None and claims["iss"] != issuer:
        raise InvalidReceipt("wrong-issuer", f"issued by {claims['iss']!r}, not {issuer!r}")
    return claims


class InvalidReceipt(ValueError):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def verify_chain(receipts: Sequence[str], jwks: Mapping[str, Any] | KeySet, *, referral_id: str | None = None,
                 head: Head | None = None, issuer: str | None = None) -> ChainReport:
    """Checks a referral's receipts in the order given: each signature against ``jwks`` (by ``kid``),
    sequence numbers 1..n with no gap or repeat, each ``previous_hash`` equal to the hash of the receipt
    before it, one referral throughout (``referral_id``, if given, names it), and the end against
    ``head`` (from the referral or an event: a head past the end means receipts were removed from the
    end; a head inside the chain must name that receipt's hash). Every problem found is reported."""
    keys = key_set(jwks)
    report = ChainReport(referral_id=referral_id, receipts=len(receipts))
    if not receipts:
        if head is not None and head.sequence > 0:
            report.fail(1, "truncated", f"no receipts, but the head says the chain has {head.sequence}")
        return report
    previous: str | None = None
    hashes: dict[int, str] = {}
    for position, compact in enumerate(receipts, start=1):
        this_hash = receipt_hash(compact)
        try:
            claims = verify_receipt(compact, keys, issuer=issuer)
        except InvalidReceipt as exc:
            report.fail(position, exc.kind, f"receipt {position}: {exc.detail}")
            previous = this_hash
            continue
        report.claims.append(claims)
        expected_referral = report.referral_id or claims["referral_id"]
        report.referral_id = expected_referral
        if claims["referral_id"] != expected_referral:
            report.fail(position, "wrong-referral",
                        f"receipt {position} is of referral {claims['referral_id']}, not {expected_referral}")
        if claims["sequence"] != position:
            report.fail(position, "missing-or-reordered",
                        f"receipt {position} says it is number {claims['sequence']}: "
                        "receipts were removed, repeated or reordered")
        if claims["previous_hash"] != previous:
            report.fail(position, "broken-link",
                        f"receipt {position} does not follow the receipt before it "
                        "(one was removed, reordered or altered)")
        hashes[position] = this_hash
        previous = this_hash
    report.last = Head(sequence=len(receipts), hash=previous or "")
    if head is not None:
        _check_head(report, head, hashes)
    return report


def _check_head(report: ChainReport, head: Head, hashes: Mapping[int, str]) -> None:
    if head.sequence > report.receipts:
        report.fail(report.receipts + 1, "truncated",
                    f"the chain ends at receipt {report.receipts} but the head says {head.sequence}: "
                    "receipts were removed from the end")
    elif head.sequence < 1:
        report.fail(None, "head-mismatch", f"the head names receipt {head.sequence}, which cannot exist")
    elif hashes.get(head.sequence) != head.hash:
        report.fail(head.sequence, "head-mismatch",
                    f"receipt {head.sequence} is not the one the head names (its hash differs)")
