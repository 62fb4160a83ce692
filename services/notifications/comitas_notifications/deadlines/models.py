from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Deadline(Base, table=True):
    """A legal deadline watched for one institution, as its owner last described it.

    ``revision`` grows whenever the timers must change (the deadline moved, closed or reopened);
    ``schedule_revision`` is the revision whose timers are known to be in NATS. They differ between
    the commit and the publish, and the reconciler closes that gap after a crash.
    """

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("institution_id", "deadline_key", name="uq_deadline_institution_key"),
        Index("ix_deadline_institution_due", "institution_id", "due_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    deadline_key: str = Field(max_length=200)
    kind: str = Field(max_length=64)
    title: str = Field(max_length=500)
    case_ref: str = Field(max_length=200)
    case_kind: str = Field(max_length=32)
    mechanism: str | None = Field(default=None, max_length=100)
    last_day: date
    time_zone: str = Field(max_length=64)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    calendar: str = Field(max_length=500)
    hard: bool = True
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=16)
    closed_reason: str | None = Field(default=None, max_length=32)
    revision: int = 1
    schedule_revision: int | None = None
    scheduled_for: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_event_id: str = Field(max_length=64)
    last_event_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
