from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Subscription(Base, table=True):
    """A webhook endpoint of one institution and the event types it wants."""

    __tablename__ = "subscription"
    __table_args__ = (Index("ix_subscription_institution_created", "institution_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    url: str = Field(max_length=2048)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    # AES-GCM ciphertext of the signing secret (see secrets.py); the plaintext is never stored.
    secret_ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
