"""Measures to follow after a decision, and their statuses over time: codes, days and sources only."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class ComplianceMeasure(Base, table=True):
    __tablename__ = "compliance_measure"
    __table_args__ = (Index("ix_compliance_measure_filing", "institution_id", "filing_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    filing_id: str = Field(max_length=36, foreign_key="filing.id")
    complaint_id: str = Field(max_length=36)
    body: str = Field(max_length=32)
    respondent_state: str = Field(max_length=4)
    kind: str = Field(max_length=16)
    measure_type: str = Field(max_length=32)
    decided_on: date
    final_on: date | None = None
    status: str = Field(max_length=16)
    status_as_of: date
    track: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    version: int = 1


class ComplianceStatus(Base, table=True):
    __tablename__ = "compliance_status"
    __table_args__ = (Index("ix_compliance_status_measure", "measure_id", "as_of", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    measure_id: str = Field(max_length=36, foreign_key="compliance_measure.id")
    status: str = Field(max_length=16)
    as_of: date
    source: str = Field(max_length=24)
    grade: str | None = Field(default=None, max_length=4)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
