"""Consent records and disclosures.

Consent records are appended, never edited (a withdrawal is a record of its own). A disclosure is a
frozen, sealed snapshot of what one recipient may read: the row names its recipient institution,
which is the one other institution that may read it (``repository.disclosure_for_recipient``).
Free texts (a justification's reason, a note) are sealed with the complaint's key like every other
text that may name a person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class ConsentRecord(Base, table=True):
    __tablename__ = "consent_record"
    __table_args__ = (Index("ix_consent_record_complaint", "institution_id", "complaint_id", "recorded_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36)
    status: str = Field(max_length=20)
    purposes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    recipient_type: str = Field(max_length=20)
    recipient: str = Field(max_length=64)
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # When the victim expressed it (the domain decides with this), and when it was written down.
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    channel: str = Field(max_length=32)
    expressed_by: str = Field(max_length=32)
    justified_purposes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    legal_basis: str | None = Field(default=None, max_length=200)
    justification_sealed: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note_sealed: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    withdraws: str | None = Field(default=None, max_length=36)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class Disclosure(Base, table=True):
    __tablename__ = "disclosure"
    __table_args__ = (Index("ix_disclosure_complaint", "institution_id", "complaint_id", "created_at", "grant_id"),
                      Index("ix_disclosure_recipient", "recipient_institution_id", "grant_id"))

    grant_id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36)
    recipient_institution_id: str = Field(max_length=64)
    recipient_kind: str = Field(max_length=32)
    purpose: str = Field(max_length=32)
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    basis: str = Field(max_length=16)
    consent_record_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    override_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The snapshot, sealed with the complaint's key (field "disclosure/<grant id>"): erasing the
    # complaint makes it noise, wherever the row is.
    snapshot_sealed: str = Field(sa_column=Column(Text, nullable=False))
    salt: str = Field(max_length=64)
    digests: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    revoked_reason: str | None = Field(default=None, max_length=64)
