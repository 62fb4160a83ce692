"""Which states accepted which procedure (``data/acceptances/<key>.toml``).

A list is either ``complete`` (a state not in it has not accepted) or not (a state not in it is
"unknown: check", never a guess). ``not_accepted`` names states known *not* to have accepted, so
an incomplete list can still answer "no" for them. Withdrawals carry the date they take effect
and what they bar: facts on or after that date (ECHR Art 58, ACHR Art 78: a denunciation does not
release the state for earlier acts) or filings on or after it (ICCPR-OP1 Art 12(2), the African
Court's reading of Art 34(6) withdrawals: cases already filed go on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .rules import CODE_PATTERN, RuleStatus

STATE_PATTERN = r"^[A-Z]{2}$"


class Tri(StrEnum):
    """A three-valued answer: rules data is never complete enough for plain booleans."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Withdrawal(_Strict):
    state: str = Field(pattern=STATE_PATTERN)
    notice: date | None = None
    effective: date
    bars: Literal["events_on_or_after", "filings_on_or_after"]
    provision: str
    source: str
    status: RuleStatus
    note: str | None = None


class Doubtful(_Strict):
    """A state whose position is contested or unclear: always "unknown: check"."""

    state: str = Field(pattern=STATE_PATTERN)
    note: str


class AcceptanceList(_Strict):
    schema_version: Literal[1]
    key: str = Field(pattern=CODE_PATTERN)
    title: str
    as_of: date
    complete: bool
    status: RuleStatus
    source: str
    note: str | None = None
    states: tuple[str, ...]
    not_accepted: tuple[str, ...] = ()
    withdrawals: tuple[Withdrawal, ...] = ()
    doubtful: tuple[Doubtful, ...] = ()

    @model_validator(mode="after")
    def _well_formed(self) -> AcceptanceList:
        for name in ("states", "not_accepted"):
            for code in getattr(self, name):
                if not re.fullmatch(STATE_PATTERN, code):
                    raise ValueError(f"{name}: {code!r} is not an ISO 3166-1 alpha-2 code")
        listed = [*self.states, *self.not_accepted, *(w.state for w in self.withdrawals),
                  *(d.state for d in self.doubtful)]
        duplicates = sorted({code for code in listed if listed.count(code) > 1})
        if duplicates:
            raise ValueError(f"states listed more than once: {', '.join(duplicates)}")
        return self


@dataclass(frozen=True)
class AcceptanceAnswer:
    key: str
    state: str
    answer: Tri
    reason: str
    status: RuleStatus
    source: str


@dataclass(frozen=True)
class AcceptanceDataset:
    lists: dict[str, AcceptanceList]
    version: str
    sha256: str
    file_versions: dict[str, str] = field(default_factory=dict)

    def answer(self, key: str, state: str, *, events_date: date | None, filing_date: date) -> AcceptanceAnswer:
        """Whether ``state`` accepted procedure ``key`` for facts of ``events_date`` filed on ``filing_date``."""
        found = self.lists.get(key)
        if found is None:
            return AcceptanceAnswer(key, state, Tri.UNKNOWN, f"unknown: check (no acceptance data for {key})",
                                    RuleStatus.UNCONFIRMED, "-")
        return answer_from_list(found, state, events_date=events_date, filing_date=filing_date)


def answer_from_list(found: AcceptanceList, state: str, *, events_date: date | None,
                     filing_date: date) -> AcceptanceAnswer:
    def reply(answer: Tri, reason: str) -> AcceptanceAnswer:
        return AcceptanceAnswer(found.key, state, answer, reason, found.status, found.source)

    as_of = f"(list as of {found.as_of.isoformat()}, status {found.status.value})"
    for doubt in found.doubtful:
        if doubt.state == state:
            return reply(Tri.UNKNOWN, f"unknown: check: {state}'s position on {found.title} is unclear: {doubt.note}")
    for withdrawal in found.withdrawals:
        if withdrawal.state == state:
            return _answer_after_withdrawal(found, withdrawal, events_date=events_date, filing_date=filing_date)
    if state in found.states:
        return reply(Tri.YES, f"{state} is on the list: {found.title} {as_of}")
    if state in found.not_accepted:
        return reply(Tri.NO, f"{state} has not accepted: {found.title} {as_of}")
    if found.complete:
        return reply(Tri.NO, f"{state} is not on the complete list: {found.title} {as_of}")
    return reply(Tri.UNKNOWN, f"unknown: check whether {state} accepted: {found.title}; the list is incomplete "
                              f"{as_of}")


def _answer_after_withdrawal(found: AcceptanceList, withdrawal: Withdrawal, *, events_date: date | None,
                             filing_date: date) -> AcceptanceAnswer:
    state = withdrawal.state
    what = "events" if withdrawal.bars == "events_on_or_after" else "filings"
    relevant = events_date if withdrawal.bars == "events_on_or_after" else filing_date
    base = (f"{state} withdrew from {found.title} with effect from {withdrawal.effective.isoformat()}, "
            f"which bars {what} from that date ({withdrawal.provision})")
    if relevant is None:
        answer, reason = Tri.UNKNOWN, f"unknown: check: {base}; the date of the events is needed"
    elif relevant >= withdrawal.effective:
        answer, reason = Tri.NO, f"{base}; these {what} date from {relevant.isoformat()}"
    else:
        answer, reason = Tri.YES, f"{base}; these {what} date from {relevant.isoformat()}, before it took effect"
    return AcceptanceAnswer(found.key, state, answer, reason, withdrawal.status, withdrawal.source)


def all_of(answers: list[Tri]) -> Tri:
    if any(a is Tri.NO for a in answers):
        return Tri.NO
    if all(a is Tri.YES for a in answers):
        return Tri.YES
    return Tri.UNKNOWN


def any_of(answers: list[Tri]) -> Tri:
    if any(a is Tri.YES for a in answers):
        return Tri.YES
    if answers and all(a is Tri.NO for a in answers):
        return Tri.NO
    return Tri.UNKNOWN if answers else Tri.YES
