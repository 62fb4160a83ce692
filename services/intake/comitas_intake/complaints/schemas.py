"""API shapes of complaints. Request models forbid unknown fields so a typo is an error, not data loss.

What is sealed with the complaint's key (identities and free text) is marked "sealed" in the field
descriptions; it is returned only to a caller with ``complaints:pii`` who states a purpose, and is
``null`` otherwise (``protected`` says why).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from comitas_shared.openapi import IsoDate

from ..admissibility import shipped_procedure_codes
from ..duplicates.schemas import MatchNotice
from ..vocabularies import shipped as shipped_vocabularies
from .domain import Action, CloseReason, Status, TrackAction

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
ActCode = Annotated[str, StringConstraints(pattern=r"^(\d\d){1,6}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]

# The procedures the assessment can reason about (the mechanisms of the shipped rules and the other
# procedures their non-duplication rules name): an enum in the API, so an unknown code is a 422 here
# rather than a complaint that no later assessment can read.
ProcedureCode = StrEnum("ProcedureCode", {code: code for code in shipped_procedure_codes()})
# The instruments of the rights catalogue (GET /v1/vocabularies/rights), likewise.
InstrumentCode = StrEnum("InstrumentCode", {c: c for c in shipped_vocabularies().rights.instruments})


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- facts (clear) -----------------------------------------------------------------------------------


class DomesticRemedy(StrictModel):
    description: ShortText = Field(description="the remedy and the court or authority (no names of people)")
    exhausted: StrictBool = False
    final_decision_date: IsoDate | None = Field(None, description="date of the final domestic decision")
    notification_date: IsoDate | None = Field(
        None, description="date the final decision was served on, or came to the knowledge of, the victim or "
                          "the representative (the European Court counts from it)")
    nature: Literal["ordinary", "extraordinary", "ineffective", "national_body"] | None = Field(
        None, description="ordinary and effective remedies start time limits; an extraordinary one (reopening, "
                          "retrial, supervisory review) or an ineffective one does not; national_body is the "
                          "CERD Art 14(2) national body")
    exception_claimed: Literal["ineffective", "unduly_prolonged", "denied_access"] | None = Field(
        None, description="why remedies need not be (further) exhausted")


class OtherProcedure(StrictModel):
    mechanism: ProcedureCode = Field(
        description="code of the international procedure already seized (see GET /v1/mechanisms)")
    status: Literal["pending", "examined", "decided"]
    same_author: StrictBool = True
    ended_on: IsoDate | None = None


class Urgency(StrictModel):
    level: Literal["normal", "urgent"] = "normal"
    imminent_removal: StrictBool = Field(False, description="a removal (expulsion, extradition, return) is scheduled")
    removal_date: IsoDate | None = Field(None, description="the scheduled removal (may be in the future)")
    detention: StrictBool = False
    disappearance: StrictBool = False
    risk_to_life: StrictBool = False
    ongoing_harm: StrictBool = Field(False, description="the harm is still going on")
    threats: StrictBool = Field(False, description="the victim or relatives are threatened")
    reprisals_risk: StrictBool = Field(False, description="a risk of reprisals for cooperating with the institution "
                                                    "or a mechanism")
    interim_measures_requested: StrictBool = Field(
        False, description="interim, provisional or precautionary measures are asked for: a procedural request "
                           "recorded with the urgency, not relief")
    interim_measures_body: ProcedureCode | None = Field(None, description="the mechanism asked, if decided")
    details: LongText | None = Field(None, description="sealed: what makes it urgent, in words")


class Filer(StrictModel):
    kind: Literal["individual", "group", "ngo", "organisation"] = "individual"
    is_victim: StrictBool = True


# --- people (sealed but for a few flags) ---------------------------------------------------------------


class Address(StrictModel):
    text: LongText = Field(description="the address as written")
    country: CountryCode | None = None


class Contact(StrictModel):
    kind: Literal["email", "phone", "postal", "messaging", "other"]
    value: ShortText
    safe_to_use: StrictBool = Field(True, description="the institution may use it without endangering the person")
    note: ShortText | None = None


class IdentityDocument(StrictModel):
    kind: Literal["passport", "national_id", "residence_permit", "refugee_document", "birth_certificate",
                  "driving_licence", "other"]
    number: ShortText
    issuing_state: CountryCode | None = None
    issued_on: IsoDate | None = None
    expires_on: IsoDate | None = None


VictimKind = Literal["person", "group", "legal_person"]


class Victim(StrictModel):
    """An alleged victim: a person, a group, or a legal person. Sealed but for ``kind``, ``deceased``,
    ``minor`` and ``group_size``."""

    kind: VictimKind = "person"
    name: ShortText | None = Field(None, description="sealed: the name as the person writes it (a group's or "
                                                     "legal person's name)")
    other_names: list[ShortText] = Field(default_factory=list, max_length=10, description="sealed")
    birth_date: IsoDate | None = Field(None, description="sealed")
    sex: Literal["female", "male", "other", "unknown"] | None = Field(None, description="sealed")
    nationalities: list[CountryCode] = Field(default_factory=list, max_length=5, description="sealed")
    occupation: ShortText | None = Field(None, description="sealed")
    addresses: list[Address] = Field(default_factory=list, max_length=5, description="sealed")
    contacts: list[Contact] = Field(default_factory=list, max_length=10, description="sealed")
    identity_documents: list[IdentityDocument] = Field(default_factory=list, max_length=10, description="sealed")
    deceased: StrictBool = False
    minor: StrictBool | None = Field(None, description="a child at the time of the facts")
    group_size: int | None = Field(None, ge=2, le=1_000_000, description="for a group: how many people")
    group_description: LongText | None = Field(None, description="sealed")
    registration_number: ShortText | None = Field(None, description="sealed; a legal person's")
    registered_on: IsoDate | None = Field(None, description="sealed; a legal person's")
    registered_in: CountryCode | None = Field(None, description="sealed; a legal person's")
    legal_representative: ShortText | None = Field(None, description="sealed; a legal person's")


class Authority(StrictModel):
    kind: Literal["signed_authority_form", "power_of_attorney", "legal_guardian", "court_appointment", "none"]
    victim_signed_on: IsoDate | None = None
    representative_signed_on: IsoDate | None = None
    justification: LongText | None = Field(None, description="sealed: why there is no authority (the victim is "
                                                             "detained, disappeared, at risk…)")


class Representative(StrictModel):
    """Who acts for the victim, and with what authority. Sealed but for ``kind`` and ``authority``."""

    kind: Literal["lawyer", "ngo", "relative", "other"]
    name: ShortText | None = Field(None, description="sealed")
    organisation: ShortText | None = Field(None, description="sealed")
    addresses: list[Address] = Field(default_factory=list, max_length=5, description="sealed")
    contacts: list[Contact] = Field(default_factory=list, max_length=10, description="sealed")
    authority: Authority | None = None


class Petitioner(StrictModel):
    """Who brings the complaint when it is not the victim (a relative, an NGO, a witness): the source.
    Sealed but for ``kind``, ``relationship``, ``state_of_recognition`` and ``confidential``."""

    kind: Literal["relative", "ngo", "lawyer", "witness", "other"]
    relationship: Literal["parent", "child", "spouse_or_partner", "sibling", "other_relative", "colleague",
                          "none", "other"] | None = None
    name: ShortText | None = Field(None, description="sealed")
    organisation: ShortText | None = Field(None, description="sealed")
    legal_representative: ShortText | None = Field(None, description="sealed; an NGO's (IACHR Rules Art 28(1))")
    state_of_recognition: CountryCode | None = Field(None, description="where an NGO is legally recognised")
    nationalities: list[CountryCode] = Field(default_factory=list, max_length=5, description="sealed")
    occupation: ShortText | None = Field(None, description="sealed")
    birth_date: IsoDate | None = Field(None, description="sealed")
    addresses: list[Address] = Field(default_factory=list, max_length=5, description="sealed")
    contacts: list[Contact] = Field(default_factory=list, max_length=10, description="sealed")
    authority: Authority | None = Field(None, description="the victim's authority to act, if any")
    confidential: StrictBool = Field(False, description="the source asks that its identity stay confidential")


class ComplaintActor(StrictModel):
    """Another actor involved: an alleged perpetrator, a witness, an authority informed of the facts."""

    role: Literal["alleged_perpetrator", "authority_informed", "witness", "other"]
    kind: Literal["state_agent", "acting_with_state_acquiescence", "non_state_actor", "public_authority",
                  "unknown"] = "unknown"
    state: CountryCode | None = Field(None, description="the state whose agent or authority it is")
    name: ShortText | None = Field(None, description="sealed")
    description: LongText | None = Field(None, description="sealed: unit, rank, what they did")


class Incident(StrictModel):
    """One incident: when (a day or a range, with its precision), where, what (types of acts), to whom."""

    start: IsoDate | None = Field(None, description="the day; with precision month or year, the first day of it")
    end: IsoDate | None = Field(None, description="the last day of a range")
    precision: Literal["day", "month", "year", "approximate"] = "day"
    ongoing: StrictBool = Field(False, description="it is still going on (a detention, a disappearance)")
    country: CountryCode | None = None
    place: ShortText | None = Field(None, description="sealed")
    narrative: Summary | None = Field(None, description="sealed")
    act_types: list[ActCode] = Field(default_factory=list, max_length=30,
                                     description="codes of GET /v1/vocabularies/acts")
    victims: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list, max_length=100,
                                                       description="positions in the complaint's victims")
    actors: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list, max_length=100,
                                                      description="positions in the complaint's actors")


class RightInvoked(StrictModel):
    instrument: InstrumentCode = Field(description="GET /v1/vocabularies/rights")
    article: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12)]
    note: LongText | None = Field(None, description="sealed: the argument, in words")


ReliefForm = Literal["investigation", "prosecution", "restitution", "compensation", "rehabilitation",
                     "satisfaction", "acknowledgement", "apology", "guarantees_of_non_repetition"]


class Relief(StrictModel):
    """What the victim seeks: investigation and prosecution, and the forms of reparation of the UN Basic
    Principles (GA res 60/147, paras 19-23): restitution, compensation, rehabilitation, satisfaction
    (of which acknowledgement and apology), guarantees of non-repetition."""

    sought: list[ReliefForm] = Field(default_factory=list, max_length=9)
    details: LongText | None = Field(None, description="sealed")


DisclosureChoice = Literal["allowed", "withheld", "undecided"]


class Disclosure(StrictModel):
    """Whether the victim's identity may be disclosed, recorded separately for each audience."""

    receiving_body: DisclosureChoice = "undecided"
    respondent_state: DisclosureChoice = Field("undecided", description="IACHR Rules Art 28(2)")
    public: DisclosureChoice = "undecided"
    reasons: LongText | None = Field(None, description="sealed: why it is withheld")
    coordination: StrictBool = Field(False, description="another non-state institution the victim also went to may be "
                                                  "told that a possible duplicate exists, to coordinate")


class Languages(StrictModel):
    spoken: list[LanguageCode] = Field(default_factory=list, max_length=10, description="ISO 639-1 or 639-3")
    preferred: LanguageCode | None = None
    interpreter_needed: StrictBool | None = None
    submission: LanguageCode | None = Field(None, description="the language the complaint is written in")


# --- the complaint -------------------------------------------------------------------------------------


class ComplaintCreate(StrictModel):
    """A complaint. Everything is optional: a complaint lacking what the forums require is accepted as
    a draft (GET .../completeness says what is missing, item by item)."""

    summary: Summary | None = Field(None, description="sealed: the facts in the complainant's words")
    respondent_states: list[CountryCode] = Field(default_factory=list, max_length=20,
                                                 description="ISO 3166-1 alpha-2, XK, or a former state (ISO "
                                                             "3166-3) for facts before it ceased")
    victims: list[Victim] = Field(default_factory=list, max_length=100)
    representative: Representative | None = None
    petitioner: Petitioner | None = None
    actors: list[ComplaintActor] = Field(default_factory=list, max_length=50)
    incidents: list[Incident] = Field(default_factory=list, max_length=50)
    rights: list[RightInvoked] = Field(default_factory=list, max_length=50,
                                       description="rights invoked, structured (the assessment reads these)")
    rights_invoked: list[ShortText] = Field(default_factory=list, max_length=50,
                                            description="rights in free text (older clients); read by the "
                                                        "assessment only when `rights` is empty")
    domestic_remedies: list[DomesticRemedy] = Field(default_factory=list, max_length=50)
    other_procedures: list[OtherProcedure] = Field(default_factory=list, max_length=20)
    no_other_procedures: StrictBool = Field(False, description="the matter was put to no other international procedure")
    relief: Relief = Field(default_factory=Relief)
    urgency: Urgency = Field(default_factory=Urgency)
    disclosure: Disclosure = Field(default_factory=Disclosure)
    languages: Languages = Field(default_factory=Languages)
    filer: Filer = Field(default_factory=Filer)
    signed_on: IsoDate | None = Field(None, description="the day the author signed the complaint")
    events_date: IsoDate | None = None
    events_continuing: StrictBool = Field(False, description="the violation continues (bodies may hear the part after "
                                                         "their instrument took effect for the state)")
    filing_date: IsoDate | None = Field(None, description="the day the complaint is or was filed with the body; "
                                                       "assessments answer as of that day (default: today)")


class ComplaintUpdate(StrictModel):
    """Sections to replace; absent ones stay as they are.

    Only dates and the representative and petitioner may be cleared with ``null``: the other fields
    have a value in every complaint, so an explicit ``null`` is refused (their defaults are not
    validated, which is what tells absent from null).
    """

    summary: Summary = None
    respondent_states: list[CountryCode] = Field(None, max_length=20)
    victims: list[Victim] = Field(None, max_length=100)
    representative: Representative | None = None
    petitioner: Petitioner | None = None
    actors: list[ComplaintActor] = Field(None, max_length=50)
    incidents: list[Incident] = Field(None, max_length=50)
    rights: list[RightInvoked] = Field(None, max_length=50)
    rights_invoked: list[ShortText] = Field(None, max_length=50)
    domestic_remedies: list[DomesticRemedy] = Field(None, max_length=50)
    other_procedures: list[OtherProcedure] = Field(None, max_length=20)
    no_other_procedures: StrictBool = None
    relief: Relief = None
    urgency: Urgency = None
    disclosure: Disclosure = None
    languages: Languages = None
    filer: Filer = None
    signed_on: IsoDate | None = None
    events_date: IsoDate | None = None
    events_continuing: StrictBool = None
    filing_date: IsoDate | None = None


# Views: the same shapes, with what is sealed null when withheld.


class VictimView(BaseModel):
    kind: VictimKind = "person"
    name: str | None = None
    other_names: list[str] | None = None
    birth_date: IsoDate | None = None
    sex: str | None = None
    nationalities: list[str] | None = None
    occupation: str | None = None
    addresses: list[Address] | None = None
    contacts: list[Contact] | None = None
    identity_documents: list[IdentityDocument] | None = None
    deceased: StrictBool = False
    minor: StrictBool | None = None
    group_size: int | None = None
    group_description: str | None = None
    registration_number: str | None = None
    registered_on: IsoDate | None = None
    registered_in: str | None = None
    legal_representative: str | None = None


class RepresentativeView(BaseModel):
    kind: str
    name: str | None = None
    organisation: str | None = None
    addresses: list[Address] | None = None
    contacts: list[Contact] | None = None
    authority: Authority | None = None


class PetitionerView(BaseModel):
    kind: str
    relationship: str | None = None
    name: str | None = None
    organisation: str | None = None
    legal_representative: str | None = None
    state_of_recognition: str | None = None
    nationalities: list[str] | None = None
    occupation: str | None = None
    birth_date: IsoDate | None = None
    addresses: list[Address] | None = None
    contacts: list[Contact] | None = None
    authority: Authority | None = None
    confidential: StrictBool = False


class TransferLink(BaseModel):
    """One end of a transfer: the institution and its complaint."""

    institution_id: str
    complaint_id: str
    at: datetime


class ComplaintOut(BaseModel):
    id: str
    reference: str
    institution_id: str
    channel: str
    status: Status
    status_reason: CloseReason | None = None
    status_changed_at: datetime | None = None
    transferred_to: TransferLink | None = Field(None, description="where the case went (status transferred)")
    transferred_from: TransferLink | None = Field(None, description="where the case came from (channel transfer)")
    erased_at: datetime | None = None
    draft: StrictBool = Field(description="complete for no forum yet (GET .../completeness)")
    protected: Literal["shown", "withheld", "erased"] = Field(
        description="shown: identities and free text included (complaints:pii with a stated purpose, audited); "
                    "withheld: those fields are null; erased: they no longer exist")
    summary: str | None = None
    respondent_states: list[str]
    victims: list[VictimView] = Field(default_factory=list)
    victims_count: int = 0
    representative: RepresentativeView | None = None
    petitioner: PetitionerView | None = None
    actors: list[ComplaintActor] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)
    rights: list[RightInvoked] = Field(default_factory=list)
    rights_invoked: list[str]
    domestic_remedies: list[DomesticRemedy]
    other_procedures: list[OtherProcedure]
    no_other_procedures: StrictBool = False
    relief: Relief = Field(default_factory=Relief)
    urgency: Urgency
    disclosure: Disclosure = Field(default_factory=Disclosure)
    languages: Languages = Field(default_factory=Languages)
    filer: Filer
    signed_on: IsoDate | None = None
    events_date: IsoDate | None
    events_continuing: StrictBool = False
    filing_date: IsoDate | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class ComplaintCreated(ComplaintOut):
    possible_duplicates: list[MatchNotice] = Field(
        default_factory=list, deprecated=True,
        description="always empty: possible duplicates are looked for just after the submission, not during "
                    "it; read them with GET /v1/complaints/{id}/possible-duplicates (kept so that clients "
                    "reading the field do not break)")


# --- lifecycle, child records, erasure, completeness ----------------------------------------------------


class StatusChange(StrictModel):
    action: Action
    reason: CloseReason | None = Field(None, description="required to close, refused otherwise")


class FilingCreate(StrictModel):
    mechanism: ProcedureCode
    reference: ShortText | None = Field(None, description="the body's application or case number, once known")


class ReferralCreate(StrictModel):
    to_institution_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class TrackChange(StrictModel):
    action: TrackAction
    on: IsoDate | None = Field(None, description="the day it happened (filed, registered…); default: today")
    reference: ShortText | None = None


class TrackOut(BaseModel):
    id: str
    complaint_id: str
    kind: Literal["filing", "referral"]
    target: str = Field(description="the mechanism's code (filing) or the institution's id (referral)")
    status: str
    reference: str | None = None
    occurred_on: IsoDate | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class ErasureRequest(StrictModel):
    reason: Purpose = Field(description="why the complaint is erased (the request and who made it): written to the "
                                        "audit log, never to an event")
    requested_by: Literal["victim", "representative", "legal_obligation", "institution"] = "victim"


class ErasureOut(BaseModel):
    complaint_id: str
    erased_at: datetime
    key_destroyed: StrictBool
    audit_seq: int


class RuleOut(BaseModel):
    provision: str
    source: str
    status: str


class MissingItem(BaseModel):
    requirement_id: str
    item: str
    requirement: str
    field: str = Field(description="JSON Pointer into the complaint")
    detail: str
    level: Literal["required", "if_possible"]
    rule: RuleOut


class CompletenessOut(BaseModel):
    complaint_id: str
    forum: str
    form: str
    form_version: str
    complete: StrictBool = Field(description="nothing required is missing (an 'if possible' item may be)")
    missing: list[MissingItem]
    met: list[str] = Field(description="the requirements met, by id")


class TermOut(BaseModel):
    code: str
    label: str
    parent: str | None
    level: int
    source: str
    retired: StrictBool


class ActsOut(BaseModel):
    name: str
    version: str
    structure: str | None
    attribution: str | None
    terms: list[TermOut]


class InstrumentOut(BaseModel):
    code: str
    name: str
    system: str
    status: str
    mechanisms: list[str]
    articles: dict[str, str]


class RightsOut(BaseModel):
    name: str
    version: str
    instruments: list[InstrumentOut]
