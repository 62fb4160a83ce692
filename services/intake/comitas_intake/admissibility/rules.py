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
    """An older length that applies when the start date is before ``applies_if_start_before``."""

    applies_if_start_before: date
    length: int = Field(ge=1)
    unit: Unit


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

    @model_validator(mode="after")
    def _consistent(self) -> LimitSpec:
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


class DuplicationRule(Sourced):
    blocks: Blocks
    not_counted: tuple[NotCounted, ...] = ()
    different_author_exception: Sourced | None = None
    examined_elsewhere_note: str | None = Field(
        default=None, description="what to check when the matter was examined elsewhere but that does not bar"
    )


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

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value
