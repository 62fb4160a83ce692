from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class DigestItem(Base, table=True):
    """One event gathered into a digest delivery (a ``delivery`` row of kind ``digest``)."""

    __tablename__ = "digest_item"
    __table_args__ = (
        UniqueConstraint("delivery_id", "event_id", name="uq_digest_item_delivery_event"),
        Index("ix_digest_item_delivery_added", "delivery_id", "added_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    delivery_id: str = Field(sa_column=Column(String(64), ForeignKey("delivery.id"), nullable=False))
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=128)
    envelope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
