from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Delivery(Base, table=True):
    """One event (or one day's digest of events) for one subscription on its channel, from the first
    attempt to delivered, dead or failed."""

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
    channel: str = Field(default="webhook", sa_column=Column(String(16), nullable=False, server_default="webhook"))
    # event: ``event_id``/``envelope`` are the event's; digest: ``event_id`` is the period's key
    # (``digest:<end>``), ``envelope`` its period, and the events are digest_item rows.
    kind: str = Field(default="event", sa_column=Column(String(16), nullable=False, server_default="event"))
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
    # A digest takes no more events once its first attempt starts (what is retried is what was sent).
    sealed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
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
    # Written false before the request goes out and set true with its outcome, so a worker that takes
    # over after a crash knows an attempt was under way (and the receiver may have it already).
    finished: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
