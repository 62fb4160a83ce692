from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from comitas_shared.openapi import IsoDate

from .domain import Action, ItemState, Profile, Status, Translation
from .rules import shipped_rules

BodyCode = StrEnum("BodyCode", {code: code for code in shipped_rules().bodies})  # type: ignore[misc]
MandateCode = StrEnum("MandateCode", {code: code for code in shipped_rules().mandates})  # type: ignore[misc]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Annex(StrictModel):
    title: Label = Field(description="the document's kind and author, e.g. 'Judgment of the Court of Appeal' (no "
                                     "names of people)")
    date: IsoDate | None = None
    pages: int | None = Field(None, ge=1, le=10_000)


class FilingCreate(StrictModel):
    complaint_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    body: BodyCode = Field(description="GET /v1/filing-bodies")
    language: LanguageCode | None = Field(None, description="the language the filing is written in")
    translation: Translation | None = Field(None, description="default: not_needed when the body accepts the "
                                                              "language, needed otherwise")
    mandates: list[MandateCode] = Field(default_factory=list, max_length=20,
                                        description="for a submission to Special Procedures: the mandates "
                                                    "addressed (GET /v1/complaints/{id}/mandate-proposals)")
    annexes: list[Annex] = Field(default_factory=list, max_length=100)


class FilingUpdate(StrictModel):
    language: LanguageCode | None = None
    translation: Translation | None = None
    mandates: list[MandateCode] | None = Field(None, max_length=20)
    annexes: list[Annex] | None = Field(None, max_length=100)


class FilingStatusChange(StrictModel):
    action: Action
    on: IsoDate | None = Field(None, description="the day it happened; filing needs it")
    channel: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        None, description="how it was sent (filing only): one of the body's channels")
    reference: Reference | None = Field(None, description="the body's reference (registration needs one)")


class MissingOut(BaseModel):
    item_id: str
    item: str
    label: str
    state: Literal["missing", "withheld"]
    level: Literal["required", "if_any", "if_possible"]
    detail: str | None = None
    provision: str
    status: str


class FilingOut(BaseModel):
    id: str
    complaint_id: str
    body: str
    mechanism: str
    status: Status
    language: str | None
    translation: Translation
    accepted_languages: list[str]
    mandates: list[str]
    annexes: list[Annex]
    complete: bool = Field(description="no item the body requires is missing (as of prepared_at)")
    missing: list[MissingOut]
    blocks: list[str] = Field(description="why it must not be sent (prepared_at); see the preparation")
    confidentiality_requested: bool
    prepared_at: datetime
    rules_version: str
    filed_on: IsoDate | None = None
    channel: str | None = None
    reference: str | None = None
    status_on: IsoDate | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class RuleOut(BaseModel):
    provision: str
    source: str
    status: str


class ItemOut(BaseModel):
    id: str
    item: str
    label: str
    state: ItemState
    level: str
    lines: list[str]
    detail: str | None = None
    rule: RuleOut


class SectionOut(BaseModel):
    id: str
    title: str
    items: list[ItemOut]


class BlockOut(BaseModel):
    code: str
    reason: str
    rule: RuleOut | None = None


class PreparationOut(BaseModel):
    filing_id: str
    body: str
    form: str
    form_version: str
    document: Literal["preparation", "submission"]
    document_note: str | None
    confidentiality_request: str | None
    mandates: list[str]
    blocks: list[BlockOut]
    complete: bool
    sections: list[SectionOut]


class MandateOut(BaseModel):
    code: str
    name: str
    system: str
    rule: RuleOut


class ProposalOut(BaseModel):
    mandate: MandateOut
    because: list[str]


class ProposalsOut(BaseModel):
    complaint_id: str
    profiles: list[Profile]
    proposals: list[ProposalOut]


class BodyOut(BaseModel):
    code: str
    name: str
    mechanism: str
    form: str
    document: str
    document_note: str | None
    anonymous_accepted: bool
    identity_to_state: str
    languages: list[str]
    languages_note: str
    channels: list[str]
    takes_mandates: bool


class BodiesOut(BaseModel):
    version: str
    bodies: list[BodyOut]
    mandates: list[MandateOut]
