"""The key store and the audit log.

``complaint_key`` is deliberately a table of its own, read only through this feature: the wrapped keys
are what erasure destroys, and in production they belong in a database (or at least a backup policy)
of their own with a short retention, so that a restored backup of the case data does not bring an
erased victim's key back (docs/adr/0014-victims-data-protection.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class ComplaintKey(Base, table=True):
    __tablename__ = "complaint_key"

    complaint_id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64, index=True)
    # None once destroyed: every value sealed with it is then unreadable (crypto-shredding).
    wrapped_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    master_key_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    rewrapped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    destroyed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AuditEntry(Base, table=True):
    """One entry of an institution's hash chain: each entry's hash covers the previous entry's."""

    __tablename__ = "audit_entry"
    __table_args__ = (UniqueConstraint("institution_id", "seq", name="uq_audit_entry_institution_seq"),
                      Index("ix_audit_entry_institution_at", "institution_id", "at", "id"))

    id: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    institution_id: str = Field(max_length=64)
    seq: int
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Who: the client or officer (subject), its client id, and a service acting on its behalf (act).
    actor: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    action: str = Field(max_length=64)
    subject_kind: str = Field(max_length=32)
    subject_id: str = Field(max_length=64)
    purpose: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(Base, table=True):
    """The end of each institution's chain. Appending locks this row, so concurrent requests (and
    replicas) extend the chain one after the other and it never forks."""

    __tablename__ = "audit_head"

    institution_id: str = Field(primary_key=True, max_length=64)
    seq: int = 0
    hash: str = Field(max_length=64)


class AuditCheckpoint(Base, table=True):
    """A signed copy of a chain's head, also written outside the database (the checkpoint directory):
    cutting off the last entries of the chain leaves a checkpoint that no longer matches."""

    __tablename__ = "audit_checkpoint"
    __table_args__ = (Index("ix_audit_checkpoint_institution_seq", "institution_id", "seq"),)

    id: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    institution_id: str = Field(max_length=64)
    seq: int
    hash: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    key_id: str = Field(max_length=32)
    signature: str = Field(sa_column=Column(String(200), nullable=False))
