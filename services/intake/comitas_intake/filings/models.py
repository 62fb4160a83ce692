"""A filing with an international body: a child record of a complaint, with its own state.

What is kept in clear are codes, dates, statuses and the ids of the items still missing: the filing's
content is the complaint's, read (and audited) each time the preparation is made, never copied here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Filing(Base, table=True):
    __tablename__ = "filing"
    __table_args__ = (Index("ix_filing_complaint", "institution_id", "complaint_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36, foreign_key="complaint.id")
    body: str = Field(max_length=32)
    status: str = Field(max_length=16)
    language: str | None = Field(default=None, max_length=8)
    translation: str = Field(max_length=16)
    mandates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Annexes as the officer lists them (a document's kind, date and pages: no names).
    annexes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # What the last preparation found: the ids of items missing or withheld, and the blocks' codes.
    missing: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    blocks: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    complete: bool = Field(sa_column=Column(Boolean, nullable=False))
    confidentiality_requested: bool = Field(sa_column=Column(Boolean, nullable=False))
    prepared_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    rules_version: str = Field(max_length=32)
    filed_on: date | None = None
    channel: str | None = Field(default=None, max_length=32)
    reference: str | None = Field(default=None, max_length=200)
    status_on: date | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    version: int = 1
