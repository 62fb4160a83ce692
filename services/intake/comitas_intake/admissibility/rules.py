"""The shape of a mechanism's rule file (``data/mechanisms/<code>.toml``).

Every rule carries where it comes from: ``provision`` (article or rule number, with the instrument
version where rules were renumbered), ``source`` (a URL or document symbol) and ``status``:

- ``confirmed``: the wording was seen in a retrieved source;
- ``partial``: a secondary source states it, or the excerpt stopped before the decisive words;
- ``unconfirmed``: general knowledge, not seen in a retrieved text. Check before relying on it.

The models forbid unknown fields, so a typo in a rule file is an error, not a silently ignored
rule.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .dates import Unit

# A mechanism code or another procedure's code: lower-case letters, digits and "_".
CODE_PATTERN = r"^[a-z][a-z0-9_]*$"


class RuleStatus(StrEnum):
    CONFIRMED = "confirmed"
    PARTIAL = "partial"
    UNCONFIRMED = "unconfirmed"


class FilerKind(StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"
    NGO = "ngo"
    ORGANISATION = "organisation"


class ExhaustionException(StrEnum):
    INEFFECTIVE = "ineffective"
    UNDULY_PROLONGED = "unduly_prolonged"
    DENIED_ACCESS = "denied_access"


class StartEvent(StrEnum):
    FINAL_DECISION = "final_decision"
    NOTIFICATION_OF_DECISION = "notification_of_decision"
    # Service of the final decision where domestic law provides for it, else knowledge of it (ECtHR:
    # Worm v. Austria para 33). Without a date of service or knowledge, the engine counts from the
    # decision itself: the earliest the period can start, so never a last day too late.
    KNOWLEDGE_OF_DECISION = "knowledge_of_decision"
    EXHAUSTION = "exhaustion"
    END_OF_OTHER_PROCEDURE = "end_of_other_procedure"
    NONE = "none"


class StopEvent(StrEnum):
    DISPATCH = "dispatch"
    RECEIPT = "receipt"
    NONE = "none"


class LimitKind(StrEnum):
    FIXED = "fixed"
    REASONABLE_TIME = "reasonable_time"
    NONE = "none"


class Hardness(StrEnum):
    HARD = "hard"
    SOFT = "soft"


class Blocks(StrEnum):
    """Which state of the same matter elsewhere makes a complaint inadmissible."""

    PENDING = "pending"  # only while another body is examining it
    EXAMINED = "examined"  # only once another body has examined or decided it
    BOTH = "both"  # pending, examined or decided
    NONE = "none"


class SituationFlag(StrEnum):
    IMMINENT_REMOVAL = "imminent_removal"
    DETENTION = "detention"
    DISAPPEARANCE = "disappearance"
    RISK_TO_LIFE = "risk_to_life"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    """Where a rule comes from."""

    provision: str = Field(min_length=1)
    source: str = Field(min_length=1)
    status: RuleStatus
    note: str | None = None


class Instrument(Sourced):
    name: str
    version: str = Field(min_length=1, description="instrument and rules-of-procedure version")


class BindingRule(Sourced):
    binding: bool


class AcceptanceRule(Sourced):
    """What the respondent state must have accepted. Keys name lists in the acceptance dataset.

    ``all_of`` must all be accepted (e.g. African Court protocol *and* Art 34(6) declaration);
    of ``any_of`` one is enough (IACHR: OAS member or American Convention party). Both empty means
    no acceptance is needed (special procedures).
    """

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    explanation: str


class StandingCondition(_Strict):
    filer_kind: FilerKind
    condition: str


class StandingRule(Sourced):
    filer_kinds: tuple[FilerKind, ...] = Field(min_length=1)
    victim_requirement: Literal["victim_or_authorised", "none"]
    legal_persons_can_be_victims: bool = False
    conditions: tuple[StandingCondition, ...] = ()


class ScopeRule(Sourced):
    """A mechanism that only hears one kind of situation (WGAD: detention; CED: disappearance)."""

    requires_any: tuple[SituationFlag, ...] = Field(min_length=1)
    explanation: str


class ExceptionRule(Sourced):
    kind: ExhaustionException


class ExhaustionRule(Sourced):
    required: bool
    exceptions: tuple[ExceptionRule, ...] = ()
    screen: str | None = Field(default=None, description="a procedural check that replaces exhaustion")

    @model_validator(mode="after")
    def _exceptions_only_when_required(self) -> ExhaustionRule:
        if not self.required and self.exceptions:
            raise ValueError("exceptions make no sense when exhaustion is not required")
        return self


class NonWorkingDayRule(Sourced):
    moves: bool


class StopRule(Sourced):
    event: StopEvent


class Transition(Sourced):
    """An older length that applies when a date is before ``applies_if_start_before``.

    ``keyed_on`` says which date: the start of the period, or the date the final decision was
    taken (Protocol 15 Art 8(3) keys the ECtHR's six months on the final decision, while the count
    itself starts from service or knowledge).
    """

    applies_if_start_before: date
    length: int = Field(ge=1)
    unit: Unit
    keyed_on: Literal["start", "final_decision"] = "start"


class LimitSpec(Sourced):
    id: str = Field(pattern=CODE_PATTERN)
    kind: LimitKind
    length: int | None = Field(default=None, ge=1)
    unit: Unit | None = None
    start_event: StartEvent
    hardness: Hardness = Hardness.HARD
    override_reason: str | None = None
    on_exhaustion_exception: Literal["reasonable_time"] | None = None
    stop: StopRule | None = None
    non_working_day: NonWorkingDayRule | None = None
    transitions: tuple[Transition, ...] = ()
    # A figure the body's practice has used, not a rule (the ACHPR's six months): shown as guidance
    # with its date, never a governing last day or a scheduled deadline (ADR 0010).
    indicative: bool = False
    # Why an extraordinary or ineffective remedy does not start this period (Berdzenishvili).
    remedies_counted: Sourced | None = None
    # Where set, a remedy before the national body of ICERD Art 14(2) starts this period (Art 14(5)).
    national_body: Sourced | None = None
    # Where the hardness (hard, or soft with its override reason) and the start event are read from:
    # each reviewed against its text and cited on its own (issue 8, acceptance 2). A limit of kind
    # "none" has neither; its own provision says there is no limit.
    hardness_basis: Sourced | None = None
    start_basis: Sourced | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LimitSpec:
        if self.kind is LimitKind.NONE:
            if self.start_event is not StartEvent.NONE or self.hardness is Hardness.SOFT or self.override_reason:
                raise ValueError("a limit of kind none has no start event, hardness or override_reason")
            if self.hardness_basis is not None or self.start_basis is not None:
                raise ValueError("a limit of kind none has no hardness_basis or start_basis: its own provision cites it")
        else:
            missing = [name for name in ("hardness_basis", "start_basis") if getattr(self, name) is None]
            if "hardness" not in self.model_fields_set:
                missing.insert(0, "hardness")
            if missing:
                raise ValueError(f"a {self.kind.value} limit states and cites {', '.join(missing)}")
        if self.kind is LimitKind.FIXED:
            missing = [name for name in ("length", "unit", "stop", "non_working_day") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"a fixed limit needs {', '.join(missing)}")
            if self.start_event is StartEvent.NONE:
                raise ValueError("a fixed limit needs a start event")
        else:
            if self.length is not None or self.unit is not None or self.transitions:
                raise ValueError(f"a {self.kind.value} limit has no length, unit or transitions")
        if self.hardness is Hardness.SOFT and not self.override_reason:
            raise ValueError("a soft limit needs the override_reason one could give")
        if self.indicative and self.kind is not LimitKind.FIXED:
            raise ValueError("only a fixed figure can be indicative")
        starts = [t.applies_if_start_before for t in self.transitions]
        if starts != sorted(starts):
            raise ValueError("transitions must be ordered by applies_if_start_before")
        return self


class TimeLimitRule(LimitSpec):
    """The main filing limit, plus ``further`` limits that apply alongside it (HRC rule 96(c))."""

    further: tuple[LimitSpec, ...] = ()


class NotCounted(Sourced):
    """Another procedure that this mechanism does not treat as "another international procedure"."""

    mechanism: str = Field(pattern=CODE_PATTERN)


class ReservationRule(Sourced):
    """States' reservations that widen the bar to matters already examined elsewhere (many European
    states' reservations to ICCPR-OP1 Art 5(2)(a)); ``acceptance`` names the list of those states."""

    acceptance: str = Field(pattern=CODE_PATTERN)
    explanation: str


class DuplicationRule(Sourced):
    blocks: Blocks
    not_counted: tuple[NotCounted, ...] = ()
    different_author_exception: Sourced | None = None
    examined_elsewhere_note: str | None = Field(
        default=None, description="what to check when the matter was examined elsewhere but that does not bar"
    )
    examined_reservation: ReservationRule | None = None


class ProtocolRight(Sourced):
    """A right that exists only in an additional protocol: it can be heard only against a state that
    ratified that protocol (e.g. ECHR Protocol 1 Art 1, property). ``patterns`` are regular
    expressions (case-insensitive) that recognise the right in the rights invoked."""

    id: str = Field(pattern=CODE_PATTERN)
    name: str
    patterns: tuple[str, ...] = Field(min_length=1)
    acceptance: str = Field(pattern=CODE_PATTERN)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from exc
        return patterns


class TemporalScopeRule(Sourced):
    """The body hears facts after the instrument entered into force for the state (ratione temporis).

    ``acceptance`` names the list holding the entry-into-force dates; ``continuing`` says what a
    continuing violation that began earlier does: ``extends`` (the part after entry into force is
    heard), ``check`` (the body's practice is not settled here, or not in the sources) or ``no`` (only
    events that began afterwards, e.g. CED urgent actions). ``applies = false`` records, with its
    source, that no acceptance dates the body's reach (special procedures need no ratification);
    it then names no list. Every rule file states its temporal scope (issue 8, acceptance 2).
    """

    applies: bool = True
    acceptance: str | None = Field(default=None, pattern=CODE_PATTERN)
    continuing: Literal["extends", "check", "no"] | None = None
    explanation: str

    @model_validator(mode="after")
    def _consistent(self) -> TemporalScopeRule:
        if self.applies and (self.acceptance is None or self.continuing is None):
            raise ValueError("a temporal scope that applies names its acceptance list and what continuing facts do")
        if not self.applies and (self.acceptance is not None or self.continuing is not None):
            raise ValueError("a temporal scope that does not apply names no acceptance list and no continuing rule")
        return self


class InterimRule(Sourced):
    available: bool
    name: str | None = None
    threshold: str | None = None
    channel: str | None = None
    binding: bool = False
    triggers: tuple[SituationFlag, ...] = ()

    @model_validator(mode="after")
    def _described_when_available(self) -> InterimRule:
        if self.available and not (self.name and self.threshold and self.channel and self.triggers):
            raise ValueError("an available interim-measures route needs name, threshold, channel and triggers")
        return self


class MechanismRules(_Strict):
    """One mechanism's rule set, as read from its TOML file."""

    schema_version: Literal[1]
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="the rule set's version date")
    code: str = Field(pattern=CODE_PATTERN)
    name: str
    short_name: str
    time_zone: str
    time_zone_note: str | None = None
    rights_keywords: tuple[str, ...] = Field(
        default=(), description="lower-case words that show a right invoked falls under this mechanism's instruments"
    )
    instrument: Instrument
    outcome: BindingRule
    acceptance: AcceptanceRule
    standing: StandingRule
    scope: ScopeRule | None = None
    exhaustion: ExhaustionRule
    time_limit: TimeLimitRule
    non_duplication: DuplicationRule
    interim_measures: InterimRule
    protocol_rights: tuple[ProtocolRight, ...] = ()
    temporal_scope: TemporalScopeRule

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value
