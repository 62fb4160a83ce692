"""The blind index and the match notices.

``duplicate_index`` holds keyed digests only (no name, date or place): without the blind-index key,
which is not in the database, a reader cannot test a guess against it. Its rows go with erasure.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class DuplicateIndexEntry(Base, table=True):
    __tablename__ = "duplicate_index"
    __table_args__ = (
        UniqueConstraint("institution_id", "complaint_id", "purpose", "digest", name="uq_duplicate_index_entry"),
        Index("ix_duplicate_index_digest", "digest"),
    )

    id: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36)
    purpose: str = Field(max_length=16)
    digest: str = Field(max_length=64)
    # What decides who may learn of a match, as it was when the complaint was indexed.
    institution_kind: str | None = Field(default=None, max_length=32)
    coordination_consent: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DuplicateNotice(Base, table=True):
    """What an institution may see about one of its complaints: a possible duplicate within the
    institution (``counterpart`` is the other complaint) or elsewhere (``counterpart`` is the
    institution to coordinate with)."""

    __tablename__ = "duplicate_notice"
    __table_args__ = (
        UniqueConstraint("institution_id", "complaint_id", "basis", "scope", "counterpart",
                         name="uq_duplicate_notice"),
        Index("ix_duplicate_notice_complaint", "institution_id", "complaint_id", "detected_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36)
    basis: str = Field(max_length=16)
    scope: str = Field(max_length=24)
    counterpart: str = Field(max_length=64)
    detected_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
