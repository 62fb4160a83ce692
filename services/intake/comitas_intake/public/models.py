"""The public channel's tables: receipts (how a victim's code finds its complaint, with nothing stored
that could be shown back as the code) and the messages exchanged with the institution (sealed with
the complaint's key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class PublicReceipt(Base, table=True):
    __tablename__ = "public_receipt"

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36, unique=True)
    # HMAC of the code under a key outside the database: finds the row, proves nothing by itself.
    lookup: str = Field(max_length=64, unique=True)
    salt: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    # scrypt of the code with the salt, at 2**log_n: verified after the lookup.
    code_hash: bytes = Field(sa_column=Column(LargeBinary(64), nullable=False))
    log_n: int
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PublicMessage(Base, table=True):
    __tablename__ = "public_message"
    __table_args__ = (Index("ix_public_message_complaint", "institution_id", "complaint_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    institution_id: str = Field(max_length=64)
    complaint_id: str = Field(max_length=36)
    # "person": the victim or family through the channel; "institution": an answer from its staff.
    sender: str = Field(max_length=16)
    body_sealed: str = Field(sa_column=Column(Text, nullable=False))
    author: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
