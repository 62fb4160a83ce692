"""Receipts and the keys that sign them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text, text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base, SharedBySenderAndRecipient


class Receipt(SharedBySenderAndRecipient, table=True):  # type: ignore[call-arg]
    """One attested hand-over of a referral: its compact JWS and what is needed to find and chain it.

    The primary key (referral_id, sequence) is the chain's guard: the receipt is inserted in the
    transition's own transaction, so two replicas extending one referral's chain at once cannot both
    write number n; the second insert fails, its transaction (and the transition) rolls back, and the
    chain never forks. The claims live in ``jws`` alone: a column copy could drift from what was signed."""

    __tablename__ = "referral_receipt"
    __table_args__ = (Index("ix_referral_receipt_kid", "kid"),)

    referral_id: str = Field(sa_column=Column(String(36), ForeignKey("referral.id"), primary_key=True))
    sequence: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    transition: str = Field(max_length=64)
    acting_institution_id: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kid: str = Field(max_length=64)
    jws: str = Field(sa_column=Column(Text, nullable=False))
    hash: str = Field(max_length=64)
    previous_hash: str | None = Field(default=None, max_length=64)


class ReceiptKey(Base, table=True):  # type: ignore[call-arg]
    """Receipt signing keys. ``active`` signs; ``previous`` keys no longer sign but stay in the JWKS, for
    as long as any receipt names them (a receipt must verify as long as its case lives); ``retired``
    (only for a key no receipt names) leaves the JWKS. The partial unique index allows one active key,
    which is what makes start-up and scheduled rotation safe when several replicas race."""

    __tablename__ = "referral_receipt_key"
    __table_args__ = (
        Index("uq_referral_receipt_key_one_active", "state", unique=True,
              sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")),
    )

    kid: str = Field(sa_column=Column(String(64), primary_key=True))
    algorithm: str = Field(sa_column=Column(String(16), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # AES-GCM under a key derived from the master key; see receipts/crypto.py.
    sealed_private_key: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    replaced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
