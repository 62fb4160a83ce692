"""API shapes of consent records and disclosures. Request models forbid unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from .domain import Category, Purpose, Reason, RecipientType, Status

# The kinds of institution of identity's directory (comitas_identity.institutions.domain.KINDS), kept
# in step by hand (intake cannot import another service), but "platform_service": the platform's own
# services act for institutions and never receive a victim's data in their own name.
InstitutionKind = Literal["ombudsperson", "nhri", "equality_body", "regional_commission", "treaty_body",
                          "un_field_office", "legal_aid_ngo", "ngo", "central_authority"]
RecipientKind = Literal["ombudsperson", "nhri", "equality_body", "regional_commission", "treaty_body",
                        "un_field_office", "legal_aid_ngo", "ngo", "central_authority", "mechanism"]
Channel = Literal["in_person", "phone", "video_call", "written", "electronic", "public_channel",
                  "through_representative", "through_partner"]
ExpressedBy = Literal["victim", "representative", "legal_guardian", "next_of_kin", "other"]
# An institution's id, a kind of institution or a mechanism's code (each checked where it matters).
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecipientIn(StrictModel):
    type: RecipientType = Field(description="institution (value: its id), institution_kind (value: a kind of "
                                            "the directory) or mechanism (value: its code, see GET /v1/mechanisms)")
    value: Identifier


class Justification(StrictModel):
    """Why consent could not be obtained, and the purposes that reason supports (nothing else)."""

    reason: Note = Field(description="sealed with the complaint's key; names no one if it can be helped")
    purposes: list[Purpose] = Field(min_length=1, max_length=len(Purpose))
    legal_basis: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = \
        Field(None, description="e.g. IACHR Rules of Procedure Art 25")


class ConsentCreate(StrictModel):
    status: Literal["given", "withdrawn", "not_obtainable"]
    purposes: list[Purpose] = Field(default_factory=list, max_length=len(Purpose),
                                    description="required, except for not_obtainable (the justification's)")
    recipient: RecipientIn
    categories: list[Category] = Field(min_length=1, max_length=len(Category))
    at: AwareDatetime | None = Field(None, description="when it was expressed (default: now); never in the future")
    channel: Channel
    expressed_by: ExpressedBy = "victim"
    justification: Justification | None = None
    note: Note | None = Field(None, description="sealed with the complaint's key")


class WithdrawalCreate(StrictModel):
    at: AwareDatetime | None = Field(None, description="when the victim withdrew it (default: now)")
    channel: Channel
    expressed_by: ExpressedBy = "victim"
    note: Note | None = None


class RecipientOut(BaseModel):
    type: RecipientType
    value: str


class JustificationOut(BaseModel):
    reason: str | None = Field(description="null once the complaint was erased")
    purposes: list[Purpose]
    legal_basis: str | None = None


class ConsentOut(BaseModel):
    id: str
    complaint_id: str
    status: Status
    purposes: list[Purpose]
    recipient: RecipientOut
    categories: list[Category]
    at: datetime
    channel: str
    expressed_by: str
    justification: JustificationOut | None = None
    note: str | None = None
    withdraws: str | None = Field(None, description="the record this one withdraws, when it was made so")
    recorded_at: datetime
    recorded_by: dict[str, Any]


class ConsentCheckOut(BaseModel):
    """consent_allows, over HTTP: the referral service asks before it asks for a disclosure."""

    complaint_id: str
    recipient: str
    recipient_kind: str
    purpose: Purpose
    category: Category
    at: datetime
    allowed: StrictBool
    reason: Reason
    explanation: str
    record_id: str | None = None
    basis: Status | None = None


# --- disclosures -------------------------------------------------------------------------------------


class DisclosureCreate(StrictModel):
    recipient_institution_id: Identifier
    recipient_kind: InstitutionKind = Field(description="the recipient's kind in the directory: kind-level "
                                                        "consent covers it through this")
    purpose: Purpose
    categories: list[Category] = Field(min_length=1, max_length=len(Category))
    override_reason: Note | None = Field(
        None, description="disclose although consent does not cover every category (needs complaints:pii as "
                          "well as complaints:manage); written to the audit log")


class DisclosureOut(BaseModel):
    """What the sender keeps: the grant id, and salted digests of what was disclosed (no data)."""

    grant_id: str
    complaint_id: str
    institution_id: str
    recipient_institution_id: str
    recipient_kind: str
    purpose: Purpose
    categories: list[Category]
    basis: Literal["consent", "override"]
    consent_record_ids: list[str]
    salt: str
    digests: dict[str, str] = Field(description="per category: SHA-256 of salt + the canonical JSON disclosed")
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class DisclosurePacket(BaseModel):
    """What the recipient reads, by grant id: exactly the categories consented to, as frozen."""

    grant_id: str
    complaint_id: str
    from_institution_id: str
    purpose: Purpose
    categories: list[Category]
    disclosed_at: datetime
    data: dict[str, Any] = Field(description="one key per category disclosed, nothing else")
    handling: dict[str, Any] = Field(description="whether the victim's identity may be disclosed onward (to "
                                                 "the receiving body, the respondent state, the public)")
    digests: dict[str, str]
    salt: str
    notice: str = ("Disclosed under the victim's consent for this purpose only. International and domestic "
                   "time limits keep running. Do not copy onward.")
