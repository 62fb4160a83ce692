from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool


class EntryOut(BaseModel):
    institution_id: str
    name: str
    kind: str
    country: str
    subdivision: str | None = None
    time_zone: str | None = None
    languages: list[str]
    accepts_referrals: StrictBool
    referral_kinds: list[str]
    referral_purposes: list[str]
    acknowledgement_period: dict[str, Any] | None = None
    response_period: dict[str, Any] | None = None
    closures: list[dict[str, Any]] = Field(default_factory=list)
    active: StrictBool
    version: int


class ReasonOut(BaseModel):
    criterion: str = Field(description="respondent_state, subject_matter or language")
    matched: StrictBool
    detail: str


class CandidateOut(EntryOut):
    score: int = Field(description="respondent State 4, subject matter 2, language 1")
    reasons: list[ReasonOut]


class CandidatesOut(BaseModel):
    complaint_id: str
    respondent_states: list[str]
    acts: list[str] = Field(description="top-level codes of the types of acts of the complaint's incidents")
    languages: list[str]
    subject_areas_known: StrictBool = Field(description="false: identity's subject-area vocabulary could not be "
                                                        "read, and subject matter was not assessed")
    items: list[CandidateOut]
