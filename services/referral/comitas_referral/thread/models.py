from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import SharedBySenderAndRecipient


class Message(SharedBySenderAndRecipient, table=True):
    """A message between the two sides of a referral (or from the platform: ``author`` system). Files are
    referenced by their SHA-256 only: a file moves only through a disclosure that consent covers."""

    __tablename__ = "referral_message"
    __table_args__ = (Index("ix_referral_message_referral_posted", "referral_id", "posted_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    referral_id: str = Field(max_length=36, foreign_key="referral.id")
    author: str = Field(max_length=16)
    author_institution_id: str | None = Field(default=None, max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answers: str | None = Field(default=None, max_length=36, description="the information request it answers")
    message_hash: str = Field(max_length=64)
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
