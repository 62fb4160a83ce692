"""Liaison officers' accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, String
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class UserAccount(Base, table=True):  # type: ignore[call-arg]
    """A liaison officer, who signs in to the web client through the authorization-code flow."""

    __tablename__ = "user_account"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    institution_id: str = Field(sa_column=Column(String(64), ForeignKey("institution.id"), nullable=False,
                                                 index=True))
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
