"""A filing's proceedings: the steps recorded (codes and days only) and the time limits they opened."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class ProceedingStep(Base, table=True):
    __tablename__ = "proceeding_step"
    __table_args__ = (Index("ix_proceeding_step_filing", "institution_id", "filing_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    filing_id: str = Field(max_length=36, foreign_key="filing.id")
    kind: str = Field(max_length=48)
    on: date
    # Interim measures: the action and the channel of a request.
    interim_action: str | None = Field(default=None, max_length=16)
    interim_state: str | None = Field(default=None, max_length=16)
    channel: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ProceedingLimit(Base, table=True):
    __tablename__ = "proceeding_limit"
    __table_args__ = (Index("ix_proceeding_limit_filing", "institution_id", "filing_id", "deadline"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    filing_id: str = Field(max_length=36, foreign_key="filing.id")
    deadline: str = Field(max_length=48)
    label: str = Field(max_length=200)
    last_day: date
    status: str = Field(max_length=8)  # open | met
    opened_by: str = Field(max_length=36)
    met_by: str | None = Field(default=None, max_length=36)
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
