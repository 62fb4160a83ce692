"""The complaint and its referrals and filings.

What is in clear here is what the assessment, the statistics and the completeness checks read: codes,
dates of the facts, counts and flags. Identities and free text live only in ``sealed``, a mapping of
section name to that section's ciphertext under the complaint's own key (``protection``), so no
database dump shows a victim's name, birth date, contact or account of events, and destroying the key
erases them everywhere at once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index, Text, false
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Complaint(Base, table=True):
    __tablename__ = "complaint"
    __table_args__ = (Index("ix_complaint_institution_created", "institution_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64, index=True)
    reference: str = Field(max_length=32, unique=True)
    channel: str = Field(max_length=32)
    # The submitting institution's kind, as its token said (None: unknown, treated as possibly a state's):
    # the consumer that indexes possible duplicates after the request has no token to ask.
    institution_kind: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=32, default="received")
    status_reason: str | None = Field(default=None, max_length=32)
    status_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    respondent_states: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rights_invoked: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    domestic_remedies: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    other_procedures: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    urgency: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    filer: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    events_date: date | None = None
    events_continuing: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    filing_date: date | None = None
    # The clear halves of the sections whose other half is sealed (complaints/domain.py: SEALED).
    rights: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    victims: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    representative: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    petitioner: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    actors: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    incidents: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    relief: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    disclosure: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    languages: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    no_other_procedures: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    signed_on: date | None = None
    # Section name -> ciphertext sealed with the complaint's key for that section.
    sealed: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The plaintext summary of complaints written before sealing existed, until
    # `python -m comitas_intake.complaints seal-legacy` seals it (and empties this column).
    legacy_summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A transfer's two ends ({"institution_id", "complaint_id", "at"}): the platform's record of where
    # the case went (on the sender's complaint) and where it came from (on the recipient's).
    transferred_to: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    transferred_from: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    version: int = 1


class ComplaintTrack(Base, table=True):
    """A referral of the complaint to another institution, or its filing with a mechanism, with its own
    state. A complaint may have several at once (filing with two bodies, referring to two institutions)."""

    __tablename__ = "complaint_track"
    __table_args__ = (Index("ix_complaint_track_complaint", "institution_id", "complaint_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36, foreign_key="complaint.id")
    kind: str = Field(max_length=16)
    target: str = Field(max_length=64)
    status: str = Field(max_length=32)
    reference: str | None = Field(default=None, max_length=500)
    occurred_on: date | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    version: int = 1
