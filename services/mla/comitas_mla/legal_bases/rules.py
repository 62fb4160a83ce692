"""The shape of a legal basis file (``data/bases/<code>.toml``) and of a party list
(``data/parties/<key>.toml``).

Every rule carries where it comes from: ``provision`` (article and paragraph), ``source`` (a URL, a
document symbol or the project's reference) and ``status``:

- ``confirmed``: the wording was seen in a retrieved source;
- ``partial``: a secondary source states it, or the excerpt stopped before the decisive words;
- ``unconfirmed``: general knowledge, not seen in a retrieved text. Check before relying on it.

The models forbid unknown fields, so a typo in a file is an error naming the file and the field, not a
rule silently ignored (ADR 0010, applied to MLA in ADR 0050).
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# A basis code, a party-list key, a condition or refusal-ground id: lower-case letters, digits and "_".
CODE_PATTERN = r"^[a-z][a-z0-9_]*$"
STATE_PATTERN = r"^[A-Z]{2}$"


def is_iso_state(code: str) -> bool:
    """Whether ``code`` is an officially assigned ISO 3166-1 alpha-2 code."""
    return bool(re.fullmatch(STATE_PATTERN, code)) and pycountry.countries.get(alpha_2=code) is not None


class RuleStatus(StrEnum):
    CONFIRMED = "confirmed"
    PARTIAL = "partial"
    UNCONFIRMED = "unconfirmed"


class AssistanceType(StrEnum):
    """What a request asks the requested state to do. The values are the API's vocabulary."""

    TAKING_EVIDENCE = "taking_evidence"
    HEARING_WITNESS = "hearing_witness"
    HEARING_BY_VIDEO_CONFERENCE = "hearing_by_video_conference"
    SEARCH_AND_SEIZURE = "search_and_seizure"
    BANK_RECORDS = "bank_records"
    SERVICE_OF_DOCUMENTS = "service_of_documents"
    PRESERVATION_OF_STORED_DATA = "preservation_of_stored_data"
    DISCLOSURE_OF_STORED_DATA = "disclosure_of_stored_data"
    FREEZING_OF_ASSETS = "freezing_of_assets"
    TEMPORARY_TRANSFER_OF_DETAINED_PERSON = "temporary_transfer_of_detained_person"
    JOINT_INVESTIGATION_TEAM = "joint_investigation_team"
    SPONTANEOUS_EXCHANGE_OF_INFORMATION = "spontaneous_exchange_of_information"


class ContentKey(StrEnum):
    """An item a request may have to contain; the completeness check knows how to find each in a draft."""

    REQUESTING_AUTHORITY = "requesting_authority"
    REQUESTED_AUTHORITY = "requested_authority"
    ISSUING_AUTHORITY_CONTACT = "issuing_authority_contact"
    CONDUCTING_AUTHORITY = "conducting_authority"
    PROCEEDINGS = "proceedings"
    OFFENCES = "offences"
    SUMMARY_OF_FACTS = "summary_of_facts"
    ASSISTANCE_DESCRIPTION = "assistance_description"
    PROCEDURES = "procedures"
    PERSONS_CONCERNED = "persons_concerned"
    PURPOSE = "purpose"
    URGENCY_REASONS = "urgency_reasons"
    CONFIDENTIALITY_REASONS = "confidentiality_reasons"
    TRANSLATION = "translation"
    STORED_DATA_DESCRIPTION = "stored_data_description"
    DATA_LOCATION = "data_location"
    PRESERVATION_NECESSITY = "preservation_necessity"
    INTENTION_TO_REQUEST_MLA = "intention_to_request_mla"
    VALIDATING_AUTHORITY = "validating_authority"
    LEGAL_REMEDIES = "legal_remedies"
    EARLIER_REQUESTS = "earlier_requests"


# The requested side's actions that can answer a time limit (requests/domain.py defines them all).
AnsweringAction = Literal["acknowledge", "request_clarification", "recognise", "return_result", "execute",
                          "refuse", "postpone"]
Unit = Literal["calendar_days", "working_days", "weeks", "months"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    """Where a rule comes from."""

    provision: str = Field(min_length=1)
    source: str = Field(min_length=1)
    status: RuleStatus
    note: str | None = None


class Instrument(Sourced):
    name: str = Field(min_length=1)
    in_force: str | None = None


class PartiesRule(Sourced):
    """Which states the basis binds, as party lists (``data/parties/``).

    - ``both``: the requesting and the requested state are both on ``lists[0]``;
    - ``between``: one is on ``lists[0]`` and the other on ``lists[1]`` (the EU and the UK, the EU and
      Norway or Iceland);
    - ``any_pair``: no list can say (a bilateral treaty, reciprocity): always "unknown: check".
    """

    rule: Literal["both", "between", "any_pair"]
    lists: tuple[str, ...] = ()
    explanation: str = Field(min_length=1)

    @model_validator(mode="after")
    def _lists_fit_the_rule(self) -> PartiesRule:
        wanted = {"both": 1, "between": 2, "any_pair": 0}[self.rule]
        if len(self.lists) != wanted:
            raise ValueError(f"the rule {self.rule!r} takes {wanted} list(s), not {len(self.lists)}")
        for key in self.lists:
            if not re.fullmatch(CODE_PATTERN, key):
                raise ValueError(f"{key!r} is not a party-list key")
        return self


class Condition(Sourced):
    """What must hold beyond the pair of states (UNTOC: an organised criminal group; Budapest Art 31:
    an MLA treaty or the Art 27 procedure). A basis with conditions is offered as "conditional"."""

    id: str = Field(pattern=CODE_PATTERN)
    text: str = Field(min_length=1)


class Covered(Sourced):
    """A type of assistance the basis covers, with the provision that says so."""

    type: AssistanceType


class Displacement(Sourced):
    """Where this basis applies between the two states, ``bases`` are not offered for ``assistance``
    (EIO Directive Art 34: the EIO replaces the 1959 and 2000 Conventions for gathering evidence)."""

    bases: tuple[str, ...] = Field(min_length=1)
    assistance: tuple[AssistanceType, ...] = Field(min_length=1)
    explanation: str = Field(min_length=1)


class ContentRule(Sourced):
    """An item the request must (``essential``) or should contain.

    ``not_when_only`` waives it when the request asks only for those types (UNTOC 18(15)(c): no summary
    of facts for service of documents); ``only_for`` limits it to requests asking for one of those
    types (Budapest Art 29(2) items for preservation)."""

    item: ContentKey
    label: str = Field(min_length=1)
    essential: bool
    section: str | None = Field(default=None, description="the form's section (EIO Annex A)")
    not_when_only: tuple[AssistanceType, ...] = ()
    only_for: tuple[AssistanceType, ...] = ()


class RefusalGround(Sourced):
    code: str = Field(pattern=CODE_PATTERN)
    text: str = Field(min_length=1)


class CountingRule(Sourced):
    """How the days are counted: from the day after the start event, and whether a last day on a
    non-working day of the counting state moves to the next working day."""

    from_day_after: bool = True
    moves_off_non_working_day: bool


class ExtensionRule(Sourced):
    """How far the limit may be extended (EIO Art 12(5): at most 30 days, with reasons)."""

    max_amount: int = Field(ge=1)
    unit: Unit
    requires_reason: bool = True


class ImpracticableRule(Sourced):
    """What the requested authority does when it cannot keep the limit (EIO Art 12(6): inform and
    consult on the timing, no fixed extension)."""

    action: Literal["consult"]
    text: str = Field(min_length=1)


class TimeLimit(Sourced):
    """A time limit the basis sets for the requested side, announced as a deadline when the request is
    issued (``start = "receipt"``) or recognised (``start = "recognition"``), and met by the first of
    ``met_by``. ``as_soon_as_possible`` has no length: the requesting state's date, or a follow-up."""

    id: str = Field(pattern=CODE_PATTERN)
    title: str = Field(min_length=1)
    kind: Literal["fixed", "as_soon_as_possible"]
    start: Literal["receipt", "recognition"]
    length: int | None = Field(default=None, ge=1)
    unit: Unit | None = None
    counting: CountingRule | None = None
    met_by: tuple[AnsweringAction, ...] = Field(min_length=1)
    hard: bool = True
    extension: ExtensionRule | None = None
    impracticable: ImpracticableRule | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TimeLimit:
        if self.kind == "fixed":
            missing = [name for name in ("length", "unit", "counting") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"a fixed limit needs {', '.join(missing)}")
        elif self.length is not None or self.unit is not None or self.extension is not None:
            raise ValueError("an 'as soon as possible' limit has no length, unit or extension")
        return self


class LanguageRule(Sourced):
    """Which languages the requested state accepts. ``official`` means its official languages (from
    ``data/states.toml``); ``declared`` adds the languages each state declared it accepts, where known."""

    text: str = Field(min_length=1)
    accepted: Literal["official"] = "official"
    declared: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("declared")
    @classmethod
    def _iso(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for state, languages in value.items():
            if not is_iso_state(state):
                raise ValueError(f"{state!r} is not an ISO 3166-1 alpha-2 code")
            for language in languages:
                if not re.fullmatch(r"^[a-z]{2}$", language):
                    raise ValueError(f"{language!r} is not an ISO 639-1 code")
        return value


Family = Literal["eu_mutual_recognition", "eu_convention", "council_of_europe", "united_nations", "bilateral"]
Layout = Literal["eio_annex_a", "letter_of_request"]


class BasisRules(_Strict):
    """One legal basis for mutual legal assistance, as read from its TOML file."""

    schema_version: Literal[1]
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="the file's version date")
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    family: Family
    priority: int = Field(ge=1, le=100, description="lower is preferred among bases equally available")
    priority_note: str = Field(min_length=1)
    layout: Layout
    recognition_term: Literal["recognition", "acceptance"] = "acceptance"
    instrument: Instrument
    parties: PartiesRule
    requires_also: tuple[str, ...] = Field(default=(), description="bases whose parties rule must hold too")
    supplements: str | None = None
    conditions: tuple[Condition, ...] = ()
    coverage: tuple[Covered, ...] = Field(min_length=1)
    displaces: tuple[Displacement, ...] = ()
    contents: tuple[ContentRule, ...] = Field(min_length=1)
    refusal_grounds: tuple[RefusalGround, ...] = Field(min_length=1)
    time_limits: tuple[TimeLimit, ...] = Field(min_length=1)
    language: LanguageRule

    @model_validator(mode="after")
    def _unique_ids(self) -> BasisRules:
        for name, ids in (("coverage", [c.type for c in self.coverage]),
                          ("contents", [c.item for c in self.contents]),
                          ("refusal_grounds", [g.code for g in self.refusal_grounds]),
                          ("time_limits", [t.id for t in self.time_limits]),
                          ("conditions", [c.id for c in self.conditions])):
            repeated = sorted({str(i) for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{name}: listed more than once: {', '.join(repeated)}")
        return self

    def covers(self, assistance: AssistanceType) -> Covered | None:
        return next((c for c in self.coverage if c.type == assistance), None)

    def ground(self, code: str) -> RefusalGround | None:
        return next((g for g in self.refusal_grounds if g.code == code), None)

    def time_limit(self, limit_id: str) -> TimeLimit | None:
        return next((t for t in self.time_limits if t.id == limit_id), None)


class Doubtful(_Strict):
    """A state whose position is contested or unclear: always "unknown: check"."""

    state: str = Field(pattern=STATE_PATTERN)
    note: str = Field(min_length=1)


class PartyList(_Strict):
    """The states bound by an instrument, as of a date, from a source.

    A ``complete`` list answers "no" for a state it does not name; an incomplete one answers "unknown:
    check", except for the states in ``not_parties``, known not to be bound."""

    schema_version: Literal[1]
    key: str = Field(pattern=CODE_PATTERN)
    title: str = Field(min_length=1)
    as_of: date
    complete: bool
    status: RuleStatus
    source: str = Field(min_length=1)
    note: str | None = None
    states: tuple[str, ...]
    not_parties: tuple[str, ...] = ()
    doubtful: tuple[Doubtful, ...] = ()

    @model_validator(mode="after")
    def _well_formed(self) -> PartyList:
        listed = [*self.states, *self.not_parties, *(d.state for d in self.doubtful)]
        for code in listed:
            if not is_iso_state(code):
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 code")
        repeated = sorted({code for code in listed if listed.count(code) > 1})
        if repeated:
            raise ValueError(f"states listed more than once: {', '.join(repeated)}")
        if self.complete and self.not_parties:
            raise ValueError("a complete list needs no not_parties: every state it does not name is not bound")
        return self


class StateFacts(_Strict):
    """Facts about states the counting and the language rules need, with their source."""

    schema_version: Literal[1]
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    time_zones_source: str = Field(min_length=1)
    time_zones_status: RuleStatus
    # The zone where each multi-zone state's central authority sits; single-zone states come from the
    # IANA zone table shipped with tzdata.
    time_zones: dict[str, str]
    languages_source: str = Field(min_length=1)
    languages_status: RuleStatus
    languages: dict[str, tuple[str, ...]]

    @field_validator("time_zones")
    @classmethod
    def _zones(cls, value: dict[str, str]) -> dict[str, str]:
        for state, zone in value.items():
            if not is_iso_state(state):
                raise ValueError(f"{state!r} is not an ISO 3166-1 alpha-2 code")
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"{state}: {zone!r} is not an IANA time zone") from exc
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for state, languages in value.items():
            if not is_iso_state(state):
                raise ValueError(f"{state!r} is not an ISO 3166-1 alpha-2 code")
            for language in languages:
                if not re.fullmatch(r"^[a-z]{2}$", language):
                    raise ValueError(f"{state}: {language!r} is not an ISO 639-1 code")
        return value
