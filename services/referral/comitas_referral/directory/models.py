from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class DirectoryEntry(Base, table=True):
    """What referral knows of an institution in identity's directory, as its events carry it: who it is,
    where it counts its periods, its mandate and languages, whether and what it takes by referral, its
    periods and closures. Public directory data (every holder of ``directory:read`` sees it), never the
    contact. Applied only when newer (``version``)."""

    __tablename__ = "directory_entry"

    institution_id: str = Field(primary_key=True, max_length=64)
    version: int
    name: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    country: str = Field(max_length=2)
    subdivision: str | None = Field(default=None, max_length=6)
    time_zone: str | None = Field(default=None, max_length=64)
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mandate: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    accepts_referrals: bool = False
    referral_kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    referral_purposes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    acknowledgement_period: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    response_period: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    closures: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
