from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Column, Index, Text, UniqueConstraint, false
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import NOT_DELIVERED, SharedBySenderAndRecipient


class Referral(SharedBySenderAndRecipient, table=True):
    """A case carried from the sender to the recipient. Never the victim's data: the complaint's id at
    the sender, intake's grant id, and salted per-category digests of what intake froze. The recipient
    sees it once intake froze the disclosure (``sent``); while ``sending`` (or after a send that failed)
    it is the sender's alone."""

    __tablename__ = "referral"
    __table_args__ = (
        UniqueConstraint("sender_institution_id", "idempotency_key", name="uq_referral_sender_idempotency_key"),
        Index("ix_referral_sender_created", "sender_institution_id", "created_at", "id"),
        Index("ix_referral_recipient_created", "recipient_institution_id", "created_at", "id"),
        Index("ix_referral_grant", "grant_id"),
        Index("ix_referral_state_updated", "state", "updated_at"),
    )
    hidden_from_recipient_while: ClassVar[tuple[str, ...]] = NOT_DELIVERED

    id: str = Field(primary_key=True, max_length=36)
    complaint_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)
    purpose: str = Field(max_length=32)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=16)
    consent_overridden: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # What intake froze: the grant's id, the salt and the per-category digests (no data).
    grant_id: str | None = Field(default=None, max_length=64)
    disclosure_salt: str | None = Field(default=None, max_length=64)
    digests: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    disclosure_revoked: str | None = Field(default=None, max_length=32,
                                           description="consent_withdrawn or complaint_erased, once intake said so")
    # The filing deadlines of the sender's latest assessment at send time: mechanism, last day, zone.
    filing_deadlines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Told to the recipient only: intake's blind index finds a possible duplicate among its own cases.
    duplicate_at_recipient: bool = Field(default=False, sa_column=Column(Boolean, nullable=False,
                                                                         server_default=false()))
    # The recipient's counting place and periods as the directory gave them at send time.
    recipient_calendar: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    acknowledgement_due: date | None = None
    acknowledgement_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    response_due: date | None = None
    response_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The response period's pauses while information is awaited: [[paused_on, resumed_on | null], ...].
    response_pauses: list[list[str | None]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decline_reason: str | None = Field(default=None, max_length=40)
    decline_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    transferred_complaint_id: str | None = Field(default=None, max_length=64)
    sender_closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    sender_outcome: str | None = Field(default=None, max_length=40)
    recipient_closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    recipient_outcome: str | None = Field(default=None, max_length=40)
    # The sender's Idempotency-Key and the hash of what it asked, so a retried send resumes this one.
    idempotency_key: str | None = Field(default=None, max_length=255)
    request_hash: str = Field(max_length=64)
    # Why a send failed (intake's answer), replayed to a retry with the same key.
    failure: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    receipt_sequence: int | None = None
    receipt_hash: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    version: int = 1


class InformationRequest(SharedBySenderAndRecipient, table=True):
    """The recipient asking the sender for more: open until answered in the thread (or moot when the
    referral ends); while one is open the response period is paused."""

    __tablename__ = "referral_information_request"
    __table_args__ = (Index("ix_referral_information_request_referral", "referral_id", "asked_at"),)

    id: str = Field(primary_key=True, max_length=36)
    referral_id: str = Field(max_length=36, foreign_key="referral.id")
    question: str = Field(sa_column=Column(Text, nullable=False))
    asked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    answer_message_id: str | None = Field(default=None, max_length=36)
    closed_by: str | None = Field(default=None, max_length=32, description="answer, or the transition that ended it")


class Transition(SharedBySenderAndRecipient, table=True):
    """One step of a referral's life: who did what, from which state to which, and its event. A message
    posted in the thread is not one (the thread holds it, its receipt attests it)."""

    __tablename__ = "referral_transition"
    __table_args__ = (Index("ix_referral_transition_referral_at", "referral_id", "at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    referral_id: str = Field(max_length=36, foreign_key="referral.id")
    action: str = Field(max_length=32)
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    actor_institution_id: str = Field(max_length=64)
    actor_side: str = Field(max_length=16)
    event_id: str | None = Field(default=None, max_length=64)
    receipt_sequence: int | None = None
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
