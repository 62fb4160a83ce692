from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, String, Text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class Subscription(Base, table=True):
    """What one institution wants to hear about (event types, cases, urgency), on which channel (a
    webhook endpoint, or e-mail to its own notification addresses) and how often (each event, or a
    daily digest)."""

    __tablename__ = "subscription"
    __table_args__ = (Index("ix_subscription_institution_created", "institution_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64)
    channel: str = Field(default="webhook", sa_column=Column(String(16), nullable=False, server_default="webhook"))
    # Webhooks: the endpoint, and the AES-GCM ciphertext of the signing secret (see signing_secrets.py;
    # the plaintext is never stored). E-mail: neither.
    url: str | None = Field(default=None, sa_column=Column(String(2048), nullable=True))
    secret_ciphertext: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # E-mail: one of the institution's notification addresses; None: all of them, as the directory says.
    email_address: str | None = Field(default=None, max_length=320)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Case references or ids; None: every case.
    cases: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    urgency: str = Field(default="all", sa_column=Column(String(16), nullable=False, server_default="all"))
    delivery_mode: str = Field(default="immediate",
                               sa_column=Column(String(16), nullable=False, server_default="immediate"))
    # Local hour of a daily digest; None: the service's digest_hour.
    digest_hour: int | None = None
    description: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
