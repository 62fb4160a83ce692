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
    """A denunciation or withdrawn declaration. Where the exact day it takes effect is not in the
    sources, ``effective_earliest`` and ``effective_latest`` bound it (a notice "in 2025" with a
    year's delay takes effect during 2026): between the bounds the answer is "unknown: check"."""

    state: str = Field(pattern=STATE_PATTERN)
    notice: date | None = None
    effective: date | None = None
    effective_earliest: date | None = None
    effective_latest: date | None = None
    bars: Literal["events_on_or_after", "filings_on_or_after"]
    provision: str
    source: str
    status: RuleStatus
    note: str | None = None

    @model_validator(mode="after")
    def _dated(self) -> Withdrawal:
        bounds = (self.effective_earliest, self.effective_latest)
        if self.effective is None and None in bounds:
            raise ValueError("a withdrawal needs its effective date, or both effective_earliest and effective_latest")
        if self.effective is not None and bounds != (None, None):
            raise ValueError("give either the effective date or its bounds, not both")
        if self.effective_earliest and self.effective_latest and self.effective_earliest > self.effective_latest:
            raise ValueError("effective_earliest is after effective_latest")
        return self


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
    # When the instrument (or declaration) took effect: for any state no earlier than
    # ``instrument_in_force``; per state in ``in_force`` where the sources give it. Every state that
    # accepted (listed or withdrawn) has either a date in ``in_force`` or its code in
    # ``in_force_check``: the date is not in the sources, so it is "unknown: check", never guessed.
    # ``in_force_source`` says where the dates come from (or where to check them), ``in_force_status``
    # how sure the dates given are; both hold as of ``as_of``.
    instrument_in_force: date | None = None
    in_force: dict[str, date] = Field(default_factory=dict)
    in_force_check: tuple[str, ...] = ()
    in_force_source: str = Field(min_length=1)
    in_force_status: RuleStatus

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
        accepting = {*self.states, *(w.state for w in self.withdrawals)}
        for code, day in self.in_force.items():
            if code not in accepting:
                raise ValueError(f"in_force: {code!r} is neither listed nor withdrawn")
            if self.instrument_in_force and day < self.instrument_in_force:
                raise ValueError(f"in_force: {code} {day} is before the instrument entered into force")
        for code in self.in_force_check:
            if code not in accepting:
                raise ValueError(f"in_force_check: {code!r} is neither listed nor withdrawn")
        both = sorted(set(self.in_force) & set(self.in_force_check))
        if both:
            raise ValueError(f"in_force and in_force_check both name {', '.join(both)}")
        repeated = sorted({code for code in self.in_force_check if self.in_force_check.count(code) > 1})
        if repeated:
            raise ValueError(f"in_force_check names more than once: {', '.join(repeated)}")
        undated = sorted(accepting - set(self.in_force) - set(self.in_force_check))
        if undated:
            raise ValueError(f"no entry-into-force date or in_force_check for {', '.join(undated)}")
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

    def in_force_for(self, key: str, state: str) -> tuple[date | None, date | None, AcceptanceList | None]:
        """(the date ``key`` entered into force for ``state`` if known, the earliest date it can have,
        the list) — the second bounds every state when the first is unknown."""
        found = self.lists.get(key)
        if found is None:
            return None, None, None
        return found.in_force.get(state), found.instrument_in_force, found


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
        entered = found.in_force.get(state)
        if entered is not None and filing_date < entered:
            return reply(Tri.NO, f"{state} is on the list, but {found.title} took effect for it only on "
                                 f"{entered.isoformat()}, after the filing date {filing_date.isoformat()} {as_of}")
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
    if withdrawal.effective is not None:
        earliest = latest = withdrawal.effective
        when = f"with effect from {withdrawal.effective.isoformat()}"
    else:
        assert withdrawal.effective_earliest and withdrawal.effective_latest  # Withdrawal validates
        earliest, latest = withdrawal.effective_earliest, withdrawal.effective_latest
        when = (f"with effect from a day between {earliest.isoformat()} and {latest.isoformat()} (the exact day "
                "is not in the data)")
    base = f"{state} withdrew from {found.title} {when}, which bars {what} from that date ({withdrawal.provision})"
    if relevant is None:
        answer, reason = Tri.UNKNOWN, f"unknown: check: {base}; the date of the events is needed"
    elif relevant >= latest:
        answer, reason = Tri.NO, f"{base}; these {what} date from {relevant.isoformat()}"
    elif relevant < earliest:
        answer, reason = Tri.YES, f"{base}; these {what} date from {relevant.isoformat()}, before it took effect"
    else:
        answer, reason = Tri.UNKNOWN, (f"unknown: check: {base}; these {what} date from {relevant.isoformat()}, "
                                       "which may be before or after it took effect")
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
