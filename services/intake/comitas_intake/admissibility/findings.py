"""What an assessment answers. Every finding cites the rule it rests on, so a reader can check it.

All models serialise with ``model_dump(mode="json")``: dates as ISO strings, instants as aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from .acceptances import Tri
from .dates import Unit
from .rules import Hardness, LimitKind, RuleStatus, StartEvent, StopEvent


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Citation(_Out):
    mechanism: str
    provision: str
    source: str
    status: RuleStatus
    note: str | None = None


class StateAcceptance(_Out):
    state: str
    answer: Tri
    reasons: list[str]
    sources: list[Citation]


class Availability(_Out):
    """Can this body receive a complaint against these states, for this situation."""

    available: Tri
    reasons: list[str]
    available_against: list[str]
    per_state: list[StateAcceptance]
    out_of_scope: str | None = None
    citations: list[Citation]


class StandingOutcome(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    CONDITIONAL = "conditional"


class Standing(_Out):
    outcome: StandingOutcome
    reasons: list[str]
    citation: Citation


class ExhaustionOutcome(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    EXCEPTION_CLAIMED = "exception_claimed"
    NOT_REQUIRED = "not_required"
    UNKNOWN = "unknown"


class Exhaustion(_Out):
    outcome: ExhaustionOutcome
    reasons: list[str]
    citations: list[Citation]


class TimeLimitStatus(StrEnum):
    OPEN = "open"
    EXPIRED = "expired"
    SOFT_WARNING = "soft_warning"
    UNKNOWN = "unknown"
    NOT_STARTED = "not_started"
    NO_FIXED_LIMIT = "no_fixed_limit"
    NOT_APPLICABLE = "not_applicable"
    # A figure from practice or an unconfirmed rule: its date is shown as guidance, never as a
    # last day, and it is never scheduled as a deadline (ADR 0010).
    GUIDANCE = "guidance"


# The order in which one time-limit status outweighs another when a mechanism has several limits.
STATUS_WEIGHT = [
    TimeLimitStatus.EXPIRED,
    TimeLimitStatus.SOFT_WARNING,
    TimeLimitStatus.UNKNOWN,
    TimeLimitStatus.NOT_STARTED,
    TimeLimitStatus.OPEN,
    TimeLimitStatus.NO_FIXED_LIMIT,
    TimeLimitStatus.NOT_APPLICABLE,
    TimeLimitStatus.GUIDANCE,
]


class TimeLimit(_Out):
    limit_id: str
    kind: LimitKind
    status: TimeLimitStatus
    explanation: str
    hardness: Hardness
    start_event: StartEvent
    start_date: date | None = None
    length: int | None = None
    unit: Unit | None = None
    nominal_last_day: date | None = None
    last_day: date | None = None
    time_zone: str
    ends_at_utc: datetime | None = None
    days_remaining: int | None = None
    stop_event: StopEvent | None = None
    moves_on_non_working_day: bool | None = None
    override_reason: str | None = None
    citation: Citation
    calendar_citation: Citation | None = None
    stop_citation: Citation | None = None
    guidance_day: date | None = None
    caveats: list[str] = []


class ProtocolRightCheck(_Out):
    """A right invoked that exists only in an additional protocol, against each respondent state."""

    right_invoked: str
    protocol_right: str
    answer: Tri  # whether it can be heard against at least one respondent state
    reasons: list[str]
    citation: Citation
    sources: list[Citation]


Severity = Literal["bars", "check"]
ConflictTiming = Literal["while_pending", "once_examined", "pending_or_examined"]


class DuplicationConflict(_Out):
    """The same matter before another body, and what this mechanism's rule makes of it."""

    other_mechanism: str
    other_status: str
    severity: Severity
    reason: str
    citation: Citation


class InterimMeasuresRoute(_Out):
    mechanism: str
    mechanism_name: str
    name: str
    threshold: str
    channel: str
    binding: bool
    caveats: list[str]
    citation: Citation


class Verdict(StrEnum):
    """Where a mechanism stands overall, in the order used for ranking."""

    CANDIDATE = "candidate"  # nothing known stands in the way
    CANDIDATE_WITH_WARNINGS = "candidate_with_warnings"  # a soft limit passed, or a condition to meet
    CHECK = "check"  # something needed is unknown: acceptance, a date, a rule's reading
    PREMATURE = "premature"  # domestic remedies still to exhaust
    OUT_OF_TIME = "out_of_time"  # a hard limit has passed
    BARRED = "barred"  # the same matter elsewhere bars it
    UNAVAILABLE = "unavailable"  # state did not accept, filer has no standing, or out of scope


EXCLUDED_VERDICTS = frozenset({Verdict.OUT_OF_TIME, Verdict.BARRED, Verdict.UNAVAILABLE})


class MechanismFinding(_Out):
    mechanism: str
    name: str
    rules_version: str
    binding_outcome: bool
    verdict: Verdict
    verdict_reasons: list[str]
    availability: Availability
    standing: Standing
    exhaustion: Exhaustion
    time_limits: list[TimeLimit]
    duplication_conflicts: list[DuplicationConflict]
    duplication_notes: list[str]
    rights_match: Tri
    rights_note: str
    interim_measures: InterimMeasuresRoute | None = None
    citations: list[Citation]
    protocol_rights: list[ProtocolRightCheck] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def time_limit(self) -> TimeLimit:
        """The limit that governs: the worst status of ``time_limits``, and of those the earliest last day."""
        return min(self.time_limits, key=lambda t: (STATUS_WEIGHT.index(t.status), t.last_day or date.max))


class CandidateConflict(_Out):
    """Filing with ``file_with`` would bar ``bars`` (under ``bars``'s own rule), and when."""

    file_with: str
    bars: str
    when: ConflictTiming
    reason: str
    citation: Citation


class Recommendation(_Out):
    rank: int
    mechanism: str
    name: str
    verdict: Verdict
    binding_outcome: bool
    last_day: date | None = None
    time_zone: str
    explanation: str


class FilingDeadline(_Out):
    """A deadline to watch; the intake service turns each into a deadline-request event."""

    mechanism: str
    what: str
    last_day: date
    time_zone: str
    ends_at_utc: datetime
    hard: bool
    moves_on_non_working_day: bool
    calendar_rule: str
    stop_event: StopEvent
    citation: Citation
    calendar_citation: Citation | None = None


class Assessment(_Out):
    rules_version: str
    acceptances_version: str
    assessed_on: date
    findings: list[MechanismFinding]
    recommendations: list[Recommendation]
    candidate_conflicts: list[CandidateConflict]
    interim_measures: list[InterimMeasuresRoute]
    deadlines: list[FilingDeadline]

    def finding(self, mechanism: str) -> MechanismFinding:
        for finding in self.findings:
            if finding.mechanism == mechanism:
                return finding
        raise KeyError(mechanism)
