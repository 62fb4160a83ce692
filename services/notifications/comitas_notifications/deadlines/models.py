from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Deadline(Base, table=True):
    """A legal deadline watched for one institution that must act (``institution_id``), as its owner
    (``owner_institution_id``) last described it, counted like the law counts it.

    One row per institution concerned: each has its own reminders (offsets per kind), inbox, list and
    calendar feed. ``revision`` grows whenever the timers must change (the deadline moved, closed,
    reopened, paused or restarted, or the institution changed its reminders for the kind);
    ``schedule_revision`` is the revision whose timers are known to be in NATS, and
    ``scheduled_reminders`` the reminders then set. They differ between the commit and the publish,
    and the reconciler closes that gap after a crash.
    """

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("institution_id", "owner_institution_id", "deadline_key", name="uq_deadline_party_key"),
        UniqueConstraint("timer_token", name="uq_deadline_timer_token"),
        Index("ix_deadline_institution_due", "institution_id", "due_at", "id"),
        Index("ix_deadline_owner_key", "owner_institution_id", "deadline_key"),
        Index("ix_deadline_institution_case", "institution_id", "case_ref"),
    )

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    owner_institution_id: str = Field(max_length=64)
    deadline_key: str = Field(max_length=200)
    # Names this row's timers in NATS (schedules.deadline.<timer_token>.<reminder>).
    timer_token: str = Field(max_length=32)
    kind: str = Field(max_length=64)
    title: str = Field(max_length=500)
    case_ref: str = Field(max_length=200)
    case_kind: str = Field(max_length=32)
    mechanism: str | None = Field(default=None, max_length=100)
    concerns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_day: date
    time_zone: str = Field(max_length=64)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    day_starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    calendar: str = Field(max_length=500)
    holidays_version: str | None = Field(default=None, max_length=32)
    calendar_data_version: str | None = Field(default=None, max_length=100)
    complete: bool | None = None
    explanation: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hard: bool = True
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    counting: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The owner's own count when it sent the counting rule too (kept to explain a difference).
    announced_last_day: date | None = None
    pauses: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    extensions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    paused_since: date | None = None
    state: str = Field(max_length=16)
    closed_reason: str | None = Field(default=None, max_length=32)
    revision: int = 1
    schedule_revision: int | None = None
    scheduled_for: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    scheduled_reminders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_event_id: str = Field(max_length=64)
    last_event_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ReminderSetting(Base, table=True):
    """An institution's own reminders for one kind of deadline (the service's defaults otherwise)."""

    __tablename__ = "reminder_setting"
    __table_args__ = (
        UniqueConstraint("institution_id", "kind", name="uq_reminder_setting_institution_kind"),
    )

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    kind: str = Field(max_length=64)
    before: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    on_the_day: bool = True
    overdue: bool = True
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
