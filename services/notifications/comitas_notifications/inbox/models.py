from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class InboxItem(Base, table=True):
    """Something waiting for an institution's liaison officers (for now: deadline reminders)."""

    __tablename__ = "inbox_item"
    __table_args__ = (
        # A timer that fires twice (republished after a crash) still makes one item.
        UniqueConstraint("deadline_id", "reminder", "due_at", name="uq_inbox_item_deadline_reminder"),
        Index("ix_inbox_item_institution_created", "institution_id", "created_at", "id"),
        Index("ix_inbox_item_institution_case", "institution_id", "case_ref", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=500)
    case_ref: str | None = Field(default=None, max_length=200)
    deadline_id: str | None = Field(default=None, max_length=64)
    deadline_key: str | None = Field(default=None, max_length=200)
    reminder: str | None = Field(default=None, max_length=16)
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_day: date | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    # The comitas.deadline.reminder event written with it (what the other channels deliver).
    event_id: str | None = Field(default=None, max_length=64)
    read: bool = False
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
