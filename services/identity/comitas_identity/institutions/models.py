"""The directory's table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, false, text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


def _json(default: str) -> Any:
    """A JSON column that is never NULL; ``default`` fills rows that predate it."""
    return Field(sa_column=Column(JSON, nullable=False, server_default=text(f"'{default}'")))


class Institution(Base, table=True):  # type: ignore[call-arg]
    """An institution's directory entry. Lists and small objects are JSON: they are read whole (by the
    API and the events) and never queried inside; what the directory filters on has a column."""

    __tablename__ = "institution"
    __table_args__ = (Index("ix_institution_created_at_id", "created_at", "id"),)

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    country: str = Field(sa_column=Column(String(2), nullable=False))
    # ISO 3166-2 (FR-IDF); the calendars take what follows the hyphen.
    subdivision: str | None = Field(default=None, sa_column=Column(String(6), nullable=True))
    # IANA zone in which its periods are counted; NULL when unknown (a country with several zones).
    time_zone: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    languages: list[str] = _json("[]")
    # {"subject_areas": [...], "investigates": [...], "countries": [...]}
    mandate: dict[str, Any] = _json('{"subject_areas": [], "investigates": [], "countries": []}')
    state_institution: bool = Field(sa_column=Column(Boolean, nullable=False, server_default=false()))
    accepts_referrals: bool = Field(sa_column=Column(Boolean, nullable=False, server_default=false()))
    referral_kinds: list[str] = _json("[]")
    referral_purposes: list[str] = _json("[]")
    # {"amount": 10, "unit": "working_days"} or NULL (not stated)
    acknowledgement_period: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    response_period: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # [{"day": "2026-12-24", "until": "2026-12-31", "name": "...", "source": ...}]
    closures: list[dict[str, Any]] = _json("[]")
    # Private to the institution (and the platform's notification service): never in events.
    contact_emails: list[str] = _json("[]")
    contact_language: str | None = Field(default=None, sa_column=Column(String(2), nullable=True))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    # Incremented by every change; events carry it, so a reader applies a change only once and in order.
    version: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("1")))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
