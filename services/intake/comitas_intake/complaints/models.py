from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
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
    status: str = Field(max_length=32, default="submitted")
    summary: str
    respondent_states: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rights_invoked: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    domestic_remedies: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    other_procedures: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    urgency: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    filer: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    events_date: date | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    version: int = 1
