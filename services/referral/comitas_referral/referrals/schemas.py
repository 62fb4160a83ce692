"""API shapes of referrals. Request models forbid unknown fields; booleans are strict."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from .domain import DeclineReason, Kind, Outcome, Purpose

Category = Literal["identity", "contact", "health", "narrative", "evidence"]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                              pattern=r"^[A-Za-z0-9_-]+$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ReferralState = Literal["sending", "sent", "acknowledged", "accepted", "declined", "withdrawn", "failed"]

PACKET_NOTICE = ("The victim's international and domestic time limits keep running while a case is referred: "
                 "a referral or a transfer neither stops nor extends them (the European Ombudsman's warning to "
                 "complainants whose complaints it transfers). The filing deadlines listed are those of the "
                 "sender's latest assessment when the case was sent.")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReferralCreate(StrictModel):
    complaint_id: Identifier = Field(description="one of the caller's complaints at intake")
    recipient_institution_id: Identifier
    kind: Kind = Field(Kind.REFERRAL, description="referral: both keep working; transfer: the recipient takes the "
                                                  "case over (needs the victim's consent to the transfer itself)")
    purpose: Purpose
    categories: list[Category] = Field(min_length=1, max_length=5, description="the data categories to share")
    message: Text | None = Field(None, description="to the recipient; the first message of the thread. Identifying "
                                                   "data belongs in the disclosure, not here")
    override_reason: Text | None = Field(
        None, description="share although consent does not cover every category: needs complaints:consent_override "
                          "on the caller's token; written to intake's audit log with the disclosure's manifest")


class Acknowledgement(StrictModel):
    note: Text | None = None


class InformationRequestCreate(StrictModel):
    question: Text


class Decline(StrictModel):
    reason: DeclineReason
    text: Text | None = None


class Acceptance(StrictModel):
    note: Text | None = None


class Withdrawal(StrictModel):
    reason: Text | None = None


class Closure(StrictModel):
    outcome: Outcome


class DeadlineOut(BaseModel):
    period: Literal["acknowledgement", "response"]
    last_day: date | None = Field(description="null while paused, or when the directory gives no period")
    due_at: datetime | None
    time_zone: str | None
    state: Literal["open", "met", "withdrawn", "paused", "not_requested"]
    note: str | None = Field(None, description="how it was counted, or why it was not")


class FilingDeadline(BaseModel):
    mechanism: str
    last_day: date
    time_zone: str | None = None


class PacketOut(BaseModel):
    """How the recipient reads what was disclosed: from intake, by grant id, with complaints:pii and a
    stated purpose (the Comitas-Purpose header); referral never holds it."""

    grant_id: str | None
    read_at: str | None = Field(description="intake's path for the packet")
    categories: list[str]
    salt: str | None
    digests: dict[str, str] = Field(description="per category: SHA-256 of salt + the canonical JSON disclosed")
    revoked: str | None = Field(None, description="consent_withdrawn or complaint_erased: the next read fails")
    notice: str = PACKET_NOTICE
    filing_deadlines: list[FilingDeadline]


class InformationRequestOut(BaseModel):
    id: str
    question: str
    asked_at: datetime
    answered_at: datetime | None
    answer_message_id: str | None
    closed_by: str | None


class SideClosure(BaseModel):
    closed_at: datetime
    outcome: str


class ReferralOut(BaseModel):
    id: str
    state: ReferralState
    side: Literal["sender", "recipient"] = Field(description="the caller's side")
    kind: Kind
    purpose: Purpose
    complaint_id: str = Field(description="the sender's complaint at intake")
    sender_institution_id: str
    recipient_institution_id: str
    consent_overridden: StrictBool
    packet: PacketOut
    deadlines: list[DeadlineOut]
    overdue: Literal["acknowledgement", "response"] | None = Field(
        description="derived: the answer due is late (the referral stays answerable)")
    information_requests: list[InformationRequestOut]
    decline_reason: DeclineReason | None = None
    decline_text: str | None = None
    closed: dict[str, SideClosure] = Field(description="each side that closed its side, with its outcome")
    transferred_complaint_id: str | None = Field(None, description="a transfer accepted: the recipient's complaint")
    possible_duplicate_here: StrictBool | None = Field(
        None, description="to the recipient only: intake's blind index finds a possible duplicate among its own "
                          "cases (null for the sender, who is not told)")
    failure: dict[str, Any] | None = Field(None, description="a send that failed: intake's answer")
    receipt_sequence: int | None = Field(description="the head of the receipt chain: its last sequence number")
    receipt_hash: str | None = Field(description="and the SHA-256 of that receipt")
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    decided_at: datetime | None
    updated_at: datetime
    version: int


class ReferralSummary(BaseModel):
    id: str
    state: ReferralState
    side: Literal["sender", "recipient"]
    kind: Kind
    purpose: Purpose
    sender_institution_id: str
    recipient_institution_id: str
    overdue: Literal["acknowledgement", "response"] | None
    created_at: datetime
    updated_at: datetime


class TransitionOut(BaseModel):
    id: str
    action: str
    from_state: str
    to_state: str
    actor_side: str
    at: datetime
    receipt_sequence: int | None
