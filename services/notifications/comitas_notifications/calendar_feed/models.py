from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class CalendarFeed(Base, table=True):
    """A private iCalendar feed of an institution's deadlines. Only the SHA-256 of its token is kept:
    the token itself is shown once, when the feed is created."""

    __tablename__ = "calendar_feed"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_calendar_feed_token_hash"),
        Index("ix_calendar_feed_institution_created", "institution_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    token_hash: str = Field(max_length=64)
    label: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
