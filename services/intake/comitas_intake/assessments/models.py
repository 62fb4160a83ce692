from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Assessment(Base, table=True):
    """An admissibility assessment as it was computed: kept unchanged, with the rules version used."""

    __tablename__ = "assessment"
    __table_args__ = (Index("ix_assessment_complaint", "institution_id", "complaint_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36, foreign_key="complaint.id")
    complaint_version: int
    rules_version: str = Field(max_length=100)
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
