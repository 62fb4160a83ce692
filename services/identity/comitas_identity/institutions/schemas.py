"""API shapes of the institutions directory. Request models forbid unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from .domain import (
    MAX_EMAILS,
    MAX_PERIOD_DAYS,
    Entry,
    InstitutionKind,
    Investigated,
    PeriodUnit,
    ReferralKind,
    ReferralPurpose,
    public_fields,
)

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
SubjectAreaCode = Annotated[str, StringConstraints(max_length=40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Period(_Strict):
    amount: int = Field(ge=1, le=MAX_PERIOD_DAYS, examples=[10])
    unit: PeriodUnit


class ClosureDay(_Strict):
    day: date
    until: date | None = Field(None, description="last day of a closure of several days, inclusive")
    name: str = Field(min_length=1, max_length=200, examples=["Winter closure"])
    source: str | None = Field(None, max_length=500, description="where the closure is decided or published")


class Mandate(_Strict):
    subject_areas: list[SubjectAreaCode] = Field(default_factory=list, max_length=40,
                                                 description="codes of GET /v1/vocabularies/subject-areas")
    investigates: list[Investigated] = Field(default_factory=list, description="whom it may investigate")
    countries: list[CountryCode] = Field(default_factory=list, max_length=250,
                                         description="ISO 3166-1 alpha-2 codes of the States whose authorities "
                                                     "or territory it may act on")


class MandatePatch(_Strict):
    """The parts given replace the stored ones; the others stay."""

    subject_areas: list[SubjectAreaCode] | None = Field(None, max_length=40)
    investigates: list[Investigated] | None = None
    countries: list[CountryCode] | None = Field(None, max_length=250)


class Contact(_Strict):
    emails: list[Annotated[str, StringConstraints(max_length=320)]] = Field(
        default_factory=list, max_length=MAX_EMAILS, examples=[["referrals@ombudsperson.example.org"]])
    language: LanguageCode | None = Field(None, description="ISO 639-1: the language of its notifications, "
                                                            "one of its languages")


class ContactPatch(_Strict):
    emails: list[Annotated[str, StringConstraints(max_length=320)]] | None = Field(None, max_length=MAX_EMAILS)
    language: LanguageCode | None = None


_DESCRIPTIONS = {
    "subdivision": "ISO 3166-2 code of its subdivision, for the holidays its periods skip",
    "time_zone": "IANA time zone in which its periods are counted (null: not stated)",
    "languages": "ISO 639-1 codes of the languages it works in, the main one first",
    "state_institution": "part of the State's executive (central authorities always), as opposed to bodies "
                         "independent of the government, international bodies and NGOs",
    "accepts_referrals": "whether it takes referred cases at all",
    "referral_kinds": "referral (both keep working) and/or transfer (it takes the case over)",
    "referral_purposes": "what it may be asked to do with a referred case",
    "acknowledgement_period": "time it takes to acknowledge a referral",
    "response_period": "time it takes to accept or decline a referral once acknowledged",
    "closures": "days it is closed besides its State's public holidays",
}


class InstitutionUpdate(_Strict):
    """``PATCH /v1/institutions/{id}``: the fields given replace the stored ones (``mandate`` and
    ``contact`` part by part); ``null`` clears a field that may be empty. ``name``, ``kind``, ``country``,
    ``state_institution`` and ``active`` are changed by the platform's administrators only."""

    name: str | None = Field(None, min_length=1, max_length=200)
    kind: InstitutionKind | None = None
    country: CountryCode | None = None
    subdivision: str | None = Field(None, max_length=6, description=_DESCRIPTIONS["subdivision"],
                                    examples=["FR-IDF"])
    time_zone: str | None = Field(None, max_length=64, description=_DESCRIPTIONS["time_zone"],
                                  examples=["Europe/Paris"])
    languages: list[LanguageCode] | None = Field(None, max_length=20, description=_DESCRIPTIONS["languages"])
    mandate: MandatePatch | None = None
    state_institution: StrictBool | None = Field(None, description=_DESCRIPTIONS["state_institution"])
    accepts_referrals: StrictBool | None = Field(None, description=_DESCRIPTIONS["accepts_referrals"])
    referral_kinds: list[ReferralKind] | None = Field(None, description=_DESCRIPTIONS["referral_kinds"])
    referral_purposes: list[ReferralPurpose] | None = Field(None, description=_DESCRIPTIONS["referral_purposes"])
    acknowledgement_period: Period | None = Field(None, description=_DESCRIPTIONS["acknowledgement_period"])
    response_period: Period | None = Field(None, description=_DESCRIPTIONS["response_period"])
    closures: list[ClosureDay] | None = Field(None, max_length=200, description=_DESCRIPTIONS["closures"])
    contact: ContactPatch | None = None
    active: StrictBool | None = None

    def changes(self) -> dict[str, Any]:
        """Only the fields the caller sent, as plain values (an explicit null kept; lists of the nested
        models as dicts), for the domain's ``apply_changes``."""
        sent = self.model_dump(mode="json", exclude_unset=True)
        for nested in ("mandate", "contact"):
            if nested in sent and sent[nested] is None:
                sent.pop(nested)
        for part in ("subject_areas", "investigates", "countries"):
            if sent.get("mandate", {}).get(part, []) is None:
                sent["mandate"][part] = []
        if "contact" in sent and "emails" in sent["contact"] and sent["contact"]["emails"] is None:
            sent["contact"]["emails"] = []
        # null for a list means empty; for booleans and names nothing sensible: refused by the domain.
        for listed in ("languages", "referral_kinds", "referral_purposes", "closures"):
            if listed in sent and sent[listed] is None:
                sent[listed] = []
        return sent


class InstitutionOut(BaseModel):
    id: str = Field(examples=["inst_4f1c2a9e0b7d4c3a"])
    name: str
    kind: InstitutionKind
    country: str = Field(description="ISO 3166-1 alpha-2 code of its country (its seat's, for an international "
                                     "body)", examples=["FR"])
    subdivision: str | None = Field(description=_DESCRIPTIONS["subdivision"])
    time_zone: str | None = Field(description=_DESCRIPTIONS["time_zone"])
    languages: list[str] = Field(description=_DESCRIPTIONS["languages"])
    mandate: Mandate
    state_institution: StrictBool = Field(description=_DESCRIPTIONS["state_institution"])
    accepts_referrals: StrictBool = Field(description=_DESCRIPTIONS["accepts_referrals"])
    referral_kinds: list[ReferralKind] = Field(description=_DESCRIPTIONS["referral_kinds"])
    referral_purposes: list[ReferralPurpose] = Field(description=_DESCRIPTIONS["referral_purposes"])
    acknowledgement_period: Period | None = Field(description=_DESCRIPTIONS["acknowledgement_period"])
    response_period: Period | None = Field(description=_DESCRIPTIONS["response_period"])
    closures: list[ClosureDay] = Field(description=_DESCRIPTIONS["closures"])
    contact: Contact | None = Field(None, description="where the platform writes to it: shown to the institution "
                                                      "itself, to admin and to directory:contacts only (null to "
                                                      "everyone else)")
    active: StrictBool
    version: int = Field(description="increases with every change (the events carry it too)")
    created_at: datetime
    updated_at: datetime = Field(description="when the entry last changed (its registration, if never)")

    @classmethod
    def of(cls, *, institution_id: str, entry: Entry, version: int, created_at: datetime,
           updated_at: datetime | None, with_contact: bool) -> InstitutionOut:
        contact = Contact(emails=list(entry.contact.emails), language=entry.contact.language) if with_contact \
            else None
        return cls.model_validate({"id": institution_id, **public_fields(entry), "contact": contact,
                                   "version": version, "created_at": created_at,
                                   "updated_at": updated_at or created_at})


class SubjectAreaOut(BaseModel):
    code: str = Field(examples=["children"])
    label: str
    acts: list[str] = Field(description="top-level codes of intake's types of acts it covers ('*': all; empty: "
                                        "not a type of act but a kind of respondent or procedure)")
    sources: list[str]
    status: str = Field(description="reference, or to_check (the mapping is ours, to be reviewed)")
    retired: StrictBool


class SubjectAreasOut(BaseModel):
    version: str
    items: list[SubjectAreaOut]
