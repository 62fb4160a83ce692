"""API shapes of the public channel. Request models forbid unknown fields.

What a person sends is a small part of a complaint, in words a person uses; the service turns it into
the complaint (``complaints.schemas.ComplaintCreate``), validated like any other."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from comitas_shared.openapi import IsoDate

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Story = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=20_000)]
MessageText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]

SharingChoice = Literal["investigate", "international_bodies", "other_institutions", "coordination"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProofOfWork(StrictModel):
    challenge: Annotated[str, StringConstraints(max_length=200)] = Field(description="from GET /v1/public/challenge")
    nonce: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="any text such that SHA-256 of `challenge:nonce` starts with the challenge's number of zero bits")


class ContactIn(StrictModel):
    kind: Literal["email", "phone", "postal", "messaging", "other"]
    value: ShortText
    safe_to_use: StrictBool = Field(True, description="the institution may use it without putting anyone in danger")


class Sharing(StrictModel):
    """What the person allows, each a consent record of its own (the receiving institution never shares
    with a state authority on the strength of these)."""

    investigate: StrictBool = Field(False, description="the receiving institution may use the identity, contact, "
                                                 "account and evidence to look into the complaint")
    international_bodies: StrictBool = Field(False, description="they may be sent to an international body (UN treaty "
                                                           "body, regional commission) to file the complaint")
    other_institutions: StrictBool = Field(False, description="they may be sent to another human-rights institution "
                                                        "(ombudsperson, national institution, legal aid) to help")
    coordination: StrictBool = Field(False, description="another non-state institution the person also went to may be "
                                                   "told that a possible duplicate exists, to coordinate")


class PublicComplaintFields(StrictModel):
    """A complaint from a victim or a family member. Only the story is required; a person may stay
    anonymous (no name, no contact): the receipt code is how they come back."""

    story: Story = Field(description="what happened, in the person's words (sealed)")
    victim_name: ShortText | None = Field(None, description="sealed")
    contact: ContactIn | None = Field(None, description="sealed; never used to e-mail the person automatically")
    is_victim: StrictBool = Field(True, description="false: the person writes for someone else")
    relationship: Literal["parent", "child", "spouse_or_partner", "sibling", "other_relative", "other"] | None = None
    respondent_states: list[CountryCode] = Field(default_factory=list, max_length=5,
                                                 description="the state(s) responsible, ISO 3166-1 alpha-2")
    incident_date: IsoDate | None = None
    incident_place: ShortText | None = Field(None, description="sealed")
    incident_country: CountryCode | None = None
    detained: StrictBool = False
    threatened: StrictBool = Field(False, description="the person or relatives are threatened, or fear reprisals")
    language: LanguageCode | None = Field(None, description="the language the person writes in")
    sharing: Sharing = Field(default_factory=Sharing)
    identity_may_be_disclosed_to_state: StrictBool = Field(False, description="the respondent state may be told the "
                                                                        "victim's name (default: withheld)")


class PublicComplaintCreate(PublicComplaintFields):
    """Through the JSON API, a proof-of-work on a fresh challenge comes with it (a client where
    JavaScript runs solves it; the HTML form checks a honeypot and timing instead)."""

    proof_of_work: ProofOfWork


class PublicComplaintCreated(BaseModel):
    receipt_code: str = Field(description="shown once: the only way back to the complaint. Keep it safe.")
    reference: str
    status: str
    status_text: str
    submitted_at: datetime


class ChallengeOut(BaseModel):
    challenge: str
    bits: int
    algorithm: Literal["sha256-leading-zero-bits"] = "sha256-leading-zero-bits"
    expires_at: datetime
    how: str = "find a nonce such that SHA-256 of `challenge:nonce` (UTF-8) starts with `bits` zero bits"


class MessageCreate(StrictModel):
    body: MessageText


class MessageOut(BaseModel):
    id: str
    sender: Literal["person", "institution"]
    body: str | None = Field(description="null once the complaint was erased")
    created_at: datetime


class PublicStatusOut(BaseModel):
    reference: str
    status: str
    status_label: str
    status_text: str
    submitted_at: datetime
    updated_at: datetime
    messages: int = Field(description="how many messages were exchanged (GET /v1/public/messages)")
    evidence: int = Field(description="files received")
    sharing: dict[SharingChoice, StrictBool] = Field(description="what the person allows now")
    transferred: StrictBool = Field(False, description="the case was passed on, as the person agreed, to another "
                                                       "institution, which handles it now: the status is that "
                                                       "institution's")


class WithdrawalIn(StrictModel):
    choices: list[SharingChoice | Literal["all"]] = Field(min_length=1, max_length=5)


class WithdrawalOut(BaseModel):
    withdrawn: list[str] = Field(description="ids of the consent records withdrawn")
    sharing: dict[SharingChoice, StrictBool]


class PublicEvidenceOut(BaseModel):
    sha256: str
    size: int
    detected_type: str
    received_at: datetime
