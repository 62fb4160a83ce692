"""What receipts answer, and the head other features store and publish."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ReceiptHead(BaseModel):
    """The end of a referral's receipt chain: the last receipt's sequence number and the SHA-256 (hex)
    of its compact JWS. It is on the referral and in every referral event, so a receipt removed from the
    end of the chain is detected."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=1)
    hash: str = Field(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")


class ReceiptOut(BaseModel):
    """One receipt. ``jws`` is what was signed (RFC 7515 compact serialisation); the other fields repeat
    its claims for reading, and only ``jws`` is evidence."""

    sequence: int
    transition: str
    acting_institution_id: str
    at: datetime
    kid: str = Field(description="The key that signed it, in the referral service's JWKS")
    hash: str = Field(description="SHA-256 (hex) of `jws`; the next receipt's `previous_hash`")
    previous_hash: str | None
    digests: dict[str, str] | None = Field(description="Per-category digests of the disclosure handed over")
    message_hash: str | None = Field(description="Hash of the thread message handed over")
    jws: str


class ReceiptChainOut(BaseModel):
    """A referral's receipts in order, and the head the referral records: verify each JWS against
    ``jwks_uri`` (any JOSE library, ES256), check that sequence numbers run 1..n and that each
    ``previous_hash`` is the hash of the receipt before, and that the last one is the head."""

    referral_id: str
    issuer: str
    jwks_uri: str
    statement: str = Field(description="What a receipt is: the platform's attestation, not a party's signature")
    head: ReceiptHead | None = Field(description="From the referral itself, not from the receipts")
    receipts: list[ReceiptOut]
