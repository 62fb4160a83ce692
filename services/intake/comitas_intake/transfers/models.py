"""The record of each transfer: the platform's own account of where a case went, kept by the recipient
(``institution_id``) with both ends named. No data of the victim: ids, categories, codes and dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Transfer(Base, table=True):
    __tablename__ = "transfer"
    __table_args__ = (Index("ix_transfer_institution_created", "institution_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    # The recipient, which holds the case now, and its new complaint.
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36)
    from_institution_id: str = Field(max_length=64)
    from_complaint_id: str = Field(max_length=36)
    # A grant moves a case once.
    grant_id: str = Field(max_length=36, unique=True)
    referral_id: str = Field(max_length=64)
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # The sender's consent record ids -> the recipient's copies.
    consent_records: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    # The filing deadlines handed over: mechanism, last day, zone.
    deadlines: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
