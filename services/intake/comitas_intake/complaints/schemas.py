"""API shapes of complaints. Request models forbid unknown fields so a typo is an error, not data loss."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DomesticRemedy(StrictModel):
    description: ShortText
    exhausted: bool = False
    final_decision_date: date | None = Field(None, description="date of the final domestic decision")
    notification_date: date | None = Field(None, description="date the final decision was notified to the victim")
    exception_claimed: Literal["ineffective", "unduly_prolonged", "denied_access"] | None = Field(
        None, description="why remedies need not be (further) exhausted")


class OtherProcedure(StrictModel):
    mechanism: Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,20}$")] = Field(
        description="code of the international mechanism already seized (see GET /v1/mechanisms)")
    status: Literal["pending", "examined", "decided"]
    same_author: bool = True
    ended_on: date | None = None


class Urgency(StrictModel):
    level: Literal["normal", "urgent"] = "normal"
    imminent_removal: bool = False
    detention: bool = False
    disappearance: bool = False
    risk_to_life: bool = False
    removal_date: date | None = None


class Filer(StrictModel):
    kind: Literal["individual", "group", "ngo", "organisation"] = "individual"
    is_victim: bool = True


class ComplaintCreate(StrictModel):
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] = Field(
        description="the facts in the complainant's words (no identity documents here)")
    respondent_states: list[CountryCode] = Field(default_factory=list, max_length=20)
    rights_invoked: list[ShortText] = Field(default_factory=list, max_length=50)
    domestic_remedies: list[DomesticRemedy] = Field(default_factory=list, max_length=50)
    other_procedures: list[OtherProcedure] = Field(default_factory=list, max_length=20)
    urgency: Urgency = Field(default_factory=Urgency)
    filer: Filer = Field(default_factory=Filer)
    events_date: date | None = None


class ComplaintOut(BaseModel):
    id: str
    reference: str
    institution_id: str
    channel: str
    status: str
    summary: str
    respondent_states: list[str]
    rights_invoked: list[str]
    domestic_remedies: list[DomesticRemedy]
    other_procedures: list[OtherProcedure]
    urgency: Urgency
    filer: Filer
    events_date: date | None
    created_at: datetime
    updated_at: datetime
    version: int


class ComplaintUpdate(StrictModel):
    """Facts that may be corrected or completed after submission; absent fields stay as they are."""

    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] | None = None
    respondent_states: list[CountryCode] | None = Field(None, max_length=20)
    rights_invoked: list[ShortText] | None = Field(None, max_length=50)
    domestic_remedies: list[DomesticRemedy] | None = Field(None, max_length=50)
    other_procedures: list[OtherProcedure] | None = Field(None, max_length=20)
    urgency: Urgency | None = None
    filer: Filer | None = None
    events_date: date | None = None
