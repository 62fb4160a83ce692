"""Token signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class SigningKey(Base, table=True):  # type: ignore[call-arg]
    """Token signing keys. ``active`` signs; ``previous`` still verifies (stays in the JWKS);
    ``retired`` is gone from the JWKS. The partial unique index allows one active key at a time, which
    is what makes start-up safe when several replicas race to create the first key."""

    __tablename__ = "signing_key"
    __table_args__ = (
        Index("uq_signing_key_one_active", "state", unique=True,
              sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")),
    )

    kid: str = Field(sa_column=Column(String(64), primary_key=True))
    algorithm: str = Field(sa_column=Column(String(16), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # AES-GCM under a key derived from the master key; see keys/crypto.py.
    encrypted_private_key: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
