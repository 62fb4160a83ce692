from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index, Text, UniqueConstraint, false
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import SharedByTwoAuthorities


class MlaRequest(SharedByTwoAuthorities, table=True):
    """A mutual-legal-assistance request from the requesting to the requested central authority.

    ``content`` holds what the request says (facts, persons, assistance sought …) as the API validated
    it; the columns are what the lifecycle, the lists and the events need."""

    __tablename__ = "mla_request"
    __table_args__ = (
        Index("ix_mla_request_requesting_created", "requesting_institution_id", "created_at", "id"),
        Index("ix_mla_request_requested_created", "requested_institution_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    reference: str = Field(max_length=32, unique=True)
    requesting_state: str = Field(max_length=2)
    requested_state: str = Field(max_length=2)
    requesting_name: str = Field(max_length=200)
    requested_name: str = Field(max_length=200)
    # The requested authority's counting place as the directory gave it when the request was drafted:
    # time zone, subdivision and closures (empty where the directory says nothing).
    requested_calendar: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    basis: str = Field(max_length=64)
    rules_version: str = Field(max_length=100)
    state: str = Field(max_length=32)
    confidential: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    language: str = Field(max_length=2)
    assistance_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    postponed_from: str | None = Field(default=None, max_length=32)
    postponed_on: date | None = None
    postponed_until: date | None = None
    outcome: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    issued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    version: int = 1


class RequestTransition(SharedByTwoAuthorities, table=True):
    """One step of a request's life, as it happened: who did what, from which state to which."""

    __tablename__ = "mla_request_transition"
    __table_args__ = (Index("ix_mla_request_transition_request_at", "request_id", "at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    request_id: str = Field(max_length=36, foreign_key="mla_request.id")
    action: str = Field(max_length=32)
    from_state: str = Field(max_length=32)
    to_state: str = Field(max_length=32)
    actor_institution_id: str = Field(max_length=64)
    actor_role: str = Field(max_length=16)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    event_id: str | None = Field(default=None, max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Translation(SharedByTwoAuthorities, table=True):
    """A translation of the request: into which language, and whether it is attached or still pending."""

    __tablename__ = "mla_translation"
    __table_args__ = (UniqueConstraint("request_id", "language", name="uq_mla_translation_request_language"),)

    id: str = Field(primary_key=True, max_length=36)
    request_id: str = Field(max_length=36, foreign_key="mla_request.id")
    language: str = Field(max_length=2)
    status: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StatusRequest(SharedByTwoAuthorities, table=True):
    """The requesting side asking how the request stands; open until the requested side answers."""

    __tablename__ = "mla_status_request"
    __table_args__ = (Index("ix_mla_status_request_request", "request_id", "asked_at"),)

    id: str = Field(primary_key=True, max_length=36)
    request_id: str = Field(max_length=36, foreign_key="mla_request.id")
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    asked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    answered_by: str | None = Field(default=None, max_length=32, description="answer, or the closing transition")


class RequestDeadline(SharedByTwoAuthorities, table=True):
    """A time limit of the request, as counted and announced (``comitas.deadline.requested``).

    ``counting`` keeps what the count needs to be done again (start, length, unit, how a last day moves,
    pauses while postponed, extensions), so an extension or a postponement recounts from the rule
    rather than shifting a stored date."""

    __tablename__ = "mla_deadline"
    __table_args__ = (UniqueConstraint("request_id", "limit_id", name="uq_mla_deadline_request_limit"),)

    id: str = Field(primary_key=True, max_length=36)
    request_id: str = Field(max_length=36, foreign_key="mla_request.id")
    limit_id: str = Field(max_length=32)
    deadline_key: str = Field(max_length=200)
    title: str = Field(max_length=300)
    kind: str = Field(max_length=32)
    last_day: date
    time_zone: str = Field(max_length=64)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    calendar: str = Field(max_length=500)
    hard: bool = True
    state: str = Field(max_length=16)
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    counting: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    explanation: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
