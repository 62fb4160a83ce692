"""What patterns are computed from, and who is told.

``pattern_case`` holds, per victim of a complaint, a keyed digest (not a name: without the blind-index
key a reader cannot test a guess), the respondent state, the type of act and a day. ``pattern_alert``
remembers which clusters were alerted, so each is told once while it lasts.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class PatternCase(Base, table=True):
    __tablename__ = "pattern_case"
    __table_args__ = (Index("ix_pattern_case_complaint", "institution_id", "complaint_id"),
                      Index("ix_pattern_case_day", "day"))

    id: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36)
    respondent_state: str = Field(max_length=4)
    act_type: str = Field(max_length=16)
    victim: str = Field(max_length=64)
    day: date


class PatternSubscription(Base, table=True):
    __tablename__ = "pattern_subscription"
    __table_args__ = (Index("ix_pattern_subscription_institution", "institution_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    institution_kind: str = Field(max_length=32)
    states: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PatternAlert(Base, table=True):
    __tablename__ = "pattern_alert"
    __table_args__ = (Index("ix_pattern_alert_active", "respondent_state", "act_type", "active"),)

    id: str = Field(primary_key=True, max_length=36)
    respondent_state: str = Field(max_length=4)
    act_type: str = Field(max_length=16)
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    victims: int
    institutions: int
    raised_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    cleared_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
