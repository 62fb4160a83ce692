from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Delivery(Base, table=True):
    """One event for one subscription, from the first attempt to delivered or dead."""

    __tablename__ = "delivery"
    __table_args__ = (
        # With the consumer's inbox, this makes a redelivered NATS message harmless twice over.
        UniqueConstraint("subscription_id", "event_id", name="uq_delivery_subscription_event"),
        Index("ix_delivery_due", "state", "next_attempt_at"),
        Index("ix_delivery_institution_created", "institution_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    subscription_id: str = Field(sa_column=Column(String(64), ForeignKey("subscription.id"), nullable=False))
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=128)
    envelope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    traceparent: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=16)
    # Attempts in the current round: a redelivery starts a new round, the log keeps every attempt.
    attempt_count: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    locked_by: str | None = Field(default=None, max_length=64)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DeliveryAttempt(Base, table=True):
    __tablename__ = "delivery_attempt"
    __table_args__ = (Index("ix_delivery_attempt_delivery", "delivery_id", "number"),)

    id: str = Field(primary_key=True, max_length=64)
    delivery_id: str = Field(sa_column=Column(String(64), ForeignKey("delivery.id"), nullable=False))
    institution_id: str = Field(max_length=64)
    number: int
    attempted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duration_ms: int
