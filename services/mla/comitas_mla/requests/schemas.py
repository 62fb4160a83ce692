"""API shapes of MLA requests. Request models forbid unknown fields so a typo is an error, not data loss."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from ..legal_bases.schemas import AssistanceType, RuleStatus

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]

RequestState = Literal["draft", "issued", "acknowledged", "clarification_requested", "clarified", "recognised",
                       "in_execution", "executed", "refused", "postponed", "withdrawn"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseRef(StrictModel):
    reference: ShortText | None = Field(None, description="the case's own reference at the requesting authority")
    complaint_id: ShortText | None = Field(None, description="a Comitas complaint this request serves (by reference "
                                                             "only: mla never reads intake's data)")


class ConductingAuthority(StrictModel):
    name: ShortText
    functions: ShortText | None = Field(None, description="e.g. investigating judge, public prosecutor")


class Proceedings(StrictModel):
    nature: Literal["investigation", "prosecution", "judicial_proceedings", "enforcement"]
    subject: Text = Field(description="the subject matter of the investigation or proceedings")


class Offence(StrictModel):
    name: ShortText
    provisions: list[ShortText] = Field(default_factory=list, max_length=20,
                                        description="the provisions of law that define and punish it")
    legal_classification: ShortText | None = None
    maximum_penalty: ShortText | None = None


class Person(StrictModel):
    role: Literal["suspect", "accused", "witness", "victim", "expert", "account_holder", "detained_person",
                  "addressee", "other"]
    name: ShortText
    date_of_birth: date | None = None
    nationality: CountryCode | None = None
    location: ShortText | None = None
    identification: ShortText | None = Field(None, description="a document number or other identifier")


class AssistanceItem(StrictModel):
    type: AssistanceType
    description: Text
    location: ShortText | None = Field(None, description="where the measure is to be carried out")
    video_conference: StrictBool = False
    data_description: ShortText | None = Field(None, description="stored data: what is to be preserved or disclosed")
    data_location: ShortText | None = Field(None, description="stored data: the custodian or the computer system")
    preservation_necessity: ShortText | None = Field(None, description="stored data: why preservation is necessary")
    intends_mla_request: StrictBool | None = Field(None, description="preservation: a request for disclosure will follow")


class Urgency(StrictModel):
    urgent: StrictBool = False
    reasons: Text | None = None
    requested_date: date | None = Field(None, description="the date by which execution is wished")


class Contact(StrictModel):
    name: ShortText
    role: ShortText | None = None
    phone: ShortText | None = None
    email: ShortText | None = None


class Annex(StrictModel):
    title: ShortText
    description: ShortText | None = None
    pages: int | None = Field(None, ge=1, le=100_000)


class RequestContent(StrictModel):
    """What the request says. Everything is optional while drafting; the completeness check says what
    the chosen legal basis requires and the draft still lacks."""

    case: CaseRef | None = None
    conducting_authority: ConductingAuthority | None = None
    proceedings: Proceedings | None = None
    offences: list[Offence] = Field(default_factory=list, max_length=50)
    summary_of_facts: Text | None = None
    purpose: Text | None = Field(None, description="the purpose for which the evidence or action is sought")
    persons: list[Person] = Field(default_factory=list, max_length=100)
    assistance: list[AssistanceItem] = Field(default_factory=list, max_length=50)
    procedures: Text | None = Field(None, description="procedures and formalities wished, persons to be present")
    urgency: Urgency = Field(default_factory=Urgency)
    confidentiality_reasons: Text | None = None
    issuing_contact: Contact | None = None
    validating_authority: ShortText | None = None
    legal_remedies: ShortText | None = None
    earlier_requests: ShortText | None = None
    annexes: list[Annex] = Field(default_factory=list, max_length=100)
    language: LanguageCode = Field("en", description="ISO 639-1 code of the language the request is written in")


class RequestCreate(RequestContent):
    requested_institution_id: ShortText = Field(description="the requested state's central authority (directory id)")
    basis: ShortText = Field(description="the legal basis (GET /v1/legal-bases)")
    confidential: StrictBool = Field(False, description="feeds and webhooks then carry only the request's id and state")


class RequestUpdate(StrictModel):
    """A draft's changes; absent fields stay as they are, ``null`` clears an optional one."""

    basis: ShortText = None
    confidential: StrictBool = None
    case: CaseRef | None = None
    conducting_authority: ConductingAuthority | None = None
    proceedings: Proceedings | None = None
    offences: list[Offence] = Field(None, max_length=50)
    summary_of_facts: Text | None = None
    purpose: Text | None = None
    persons: list[Person] = Field(None, max_length=100)
    assistance: list[AssistanceItem] = Field(None, max_length=50)
    procedures: Text | None = None
    urgency: Urgency = None
    confidentiality_reasons: Text | None = None
    issuing_contact: Contact | None = None
    validating_authority: ShortText | None = None
    legal_remedies: ShortText | None = None
    earlier_requests: ShortText | None = None
    annexes: list[Annex] = Field(None, max_length=100)
    language: LanguageCode = None


class TranslationIn(StrictModel):
    language: LanguageCode
    status: Literal["pending", "attached"]
    note: ShortText | None = None


class TranslationOut(BaseModel):
    language: str
    status: str
    note: str | None
    updated_at: datetime


class LanguagesOut(BaseModel):
    request_language: str
    accepted: list[str] = Field(description="languages the requested state accepts under the basis (check: see rule)")
    rule: str
    status: RuleStatus
    translation_needed: StrictBool | None = Field(description="null when the accepted languages are not known")
    translations: list[TranslationOut]


class DeadlineOut(BaseModel):
    limit_id: str
    deadline_key: str
    title: str
    kind: str
    last_day: date
    time_zone: str
    due_at: datetime
    calendar: str
    hard: StrictBool
    state: str
    rule: dict[str, Any]
    explanation: list[str]


class StatusRequestOut(BaseModel):
    id: str
    message: str | None
    asked_at: datetime
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None


class RequestOut(BaseModel):
    id: str
    reference: str
    state: RequestState
    role: Literal["requesting", "requested"] = Field(description="the caller's side of this request")
    requesting_institution_id: str
    requested_institution_id: str
    requesting_state: str
    requested_state: str
    requesting_authority: str
    requested_authority: str
    basis: str
    rules_version: str
    confidential: StrictBool
    content: RequestContent
    outcome: dict[str, Any]
    postponed_until: date | None
    deadlines: list[DeadlineOut]
    status_requests: list[StatusRequestOut]
    languages: LanguagesOut
    issued_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class RequestSummary(BaseModel):
    id: str
    reference: str
    state: RequestState
    role: Literal["requesting", "requested"]
    requesting_institution_id: str
    requested_institution_id: str
    requesting_state: str
    requested_state: str
    basis: str
    confidential: StrictBool
    assistance_types: list[str]
    created_at: datetime
    updated_at: datetime


class CompletenessItemOut(BaseModel):
    item: str
    label: str
    essential: StrictBool
    applies: StrictBool
    present: StrictBool | None = Field(description="null: cannot be told from the data (check)")
    section: str | None
    provision: str
    source: str
    status: RuleStatus
    note: str | None


class CompletenessOut(BaseModel):
    request_id: str
    basis: str
    rules_version: str
    complete: StrictBool = Field(description="no essential item missing and the basis can carry the request")
    missing: list[CompletenessItemOut] = Field(description="essential items the draft lacks")
    recommended: list[CompletenessItemOut] = Field(description="other items the basis asks for, missing")
    basis_problems: list[str]
    items: list[CompletenessItemOut]


class TransitionOut(BaseModel):
    id: str
    action: str
    from_state: str
    to_state: str
    actor_role: str
    details: dict[str, Any]
    at: datetime


# --- actions -----------------------------------------------------------------------------------------


class Note(StrictModel):
    note: Text | None = None


class ClarificationRequest(StrictModel):
    questions: Text


class Clarification(StrictModel):
    answer: Text
    changes: RequestUpdate | None = Field(None, description="corrections to the request's content")


class RefusalGroundIn(StrictModel):
    code: ShortText = Field(description="a refusal ground of the request's legal basis")
    text: Text = Field(description="the reasons, as the requested authority states them")


class Refusal(StrictModel):
    grounds: list[RefusalGroundIn] = Field(min_length=1, max_length=20)


class Postponement(StrictModel):
    reason: Text
    until: date

    @field_validator("until")
    @classmethod
    def _plausible(cls, value: date) -> date:
        if value.year > 2200:
            raise ValueError("until is too far ahead")
        return value


class Withdrawal(StrictModel):
    reason: Text


class RecognitionExtension(StrictModel):
    days: int = Field(ge=1, le=366, description="calendar days added to the recognition period")
    reason: Text


class ExecutionConsultation(StrictModel):
    reason: Text
    estimated_date: date = Field(description="when the requested authority estimates the measure will be carried out")


class StatusRequestIn(StrictModel):
    message: Text | None = None


class StatusAnswerIn(StrictModel):
    answer: Text
