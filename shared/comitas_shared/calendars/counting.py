"""Counting legal periods in a :class:`Calendar`: the one place every service does it.

Conventions (each a choice with a reason; the ADR 0012 says more):

- By default the period starts the day *after* the start event (``from_day_after=True``), as the
  international bodies and EU law count; ``from_day_after=False`` counts the start day as day one.
- ``calendar_days``, ``weeks`` and ``months`` end where they end. ``months`` land on the date of the
  final month that corresponds to the start, clamped to a shorter month's end (31 Jan + 1 month =
  28 or 29 Feb; 29 Feb + 12 months = 28 Feb).
- A last day on a non-working day moves to the next working day only when the rule says so
  (``move_off_non_working="next"``); the default ``"none"`` leaves it, because a rule whose source is
  silent must not move it: filing early is always safe, filing late never is.
- ``working_days`` skip the calendar's weekend, public holidays and closures; their last day is
  always a working day.
- A pause stops the clock: paused days are not counted, so a period ends later by the days it was
  paused (for ``months`` too: the period's length in days is taken from the unpaused calendar, and
  the paused days are added back, as the IACHR did when it "extended [deadlines] to respect the
  original timeframes" after its 2020 suspension).

Every result records the calendar's description, the ``holidays`` library's version and, for a body,
its data version, and lists each non-working day skipped or moved over, so the answer explains itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal, get_args

from ..errors import InvalidInput
from .calendar import HOLIDAYS_VERSION, Calendar, NonWorkingDay, format_day, next_day
from .months import add_months

Unit = Literal["calendar_days", "working_days", "weeks", "months"]
Move = Literal["next", "none"]
Pause = tuple[date, date | None]

UNITS: tuple[str, ...] = get_args(Unit)
MOVES: tuple[str, ...] = get_args(Move)
# A guard, not a rule: no legal period runs this long, and a calendar closed for decades would
# otherwise loop for ever looking for a working day.
MAX_SPAN_DAYS = 366 * 200


class ExtensionRefused(InvalidInput):
    """An extension would take the deadline past the cap its rule sets (422)."""

    slug, title = "extension-beyond-cap", "Extension beyond the rule's cap"


@dataclass(frozen=True)
class Cap:
    """The most a rule lets a deadline be extended, counted from its last day before any extension
    (EIO Directive Art 12(5): at most 30 days)."""

    amount: int
    unit: Unit
    provision: str


@dataclass(frozen=True)
class Extension:
    amount: int
    unit: Unit
    reason: str
    cap: Cap | None
    from_last_day: date
    to_last_day: date


@dataclass(frozen=True)
class CountedDeadline:
    """A last day, when it ends, and why it is that day.

    ``nominal_last_day`` is where the count ends; ``last_day`` is the day that counts (they differ only
    when the rule moves a last day off a non-working day). ``complete`` is false when a closure that
    could matter is not known (a body year absent from its data, an estimated holiday): ``warnings``
    say which, ending in "check".
    """

    start: date
    amount: int
    unit: Unit
    from_day_after: bool
    move_off_non_working: Move
    nominal_last_day: date
    last_day: date
    time_zone: str
    ends_at_utc: datetime
    calendar: str
    holidays_version: str
    calendar_data_version: str | None
    skipped: tuple[NonWorkingDay, ...]
    moved_over: tuple[NonWorkingDay, ...]
    paused_days: tuple[date, ...]
    pauses: tuple[Pause, ...]
    extensions: tuple[Extension, ...]
    complete: bool
    warnings: tuple[str, ...]

    @property
    def non_working_days(self) -> tuple[NonWorkingDay, ...]:
        """Every non-working day skipped inside the period or moved over at its end."""
        return self.skipped + self.moved_over

    @property
    def last_day_before_extensions(self) -> date:
        return self.extensions[0].from_last_day if self.extensions else self.nominal_last_day

    def explain(self) -> list[str]:
        """The answer in sentences, for a person checking it."""
        start_rule = "from the day after" if self.from_day_after else "counting the start day itself"
        unit = self.unit.replace("_", " ")
        lines = [f"{self.amount} {unit} {start_rule} {format_day(self.start)}, in {self.calendar}."]
        if self.skipped:
            lines.append("Not counted: " + "; ".join(d.describe() for d in self.skipped) + ".")
        if self.paused_days:
            lines.append(f"Paused ({len(self.paused_days)} day(s)): "
                         + "; ".join(f"from {format_day(p)}, " + (f"resumed {format_day(r)}" if r else "not resumed")
                                   for p, r in self.pauses) + ".")
        for extension in self.extensions:
            cap = f" (cap: {extension.cap.amount} {extension.cap.unit.replace('_', ' ')}, {extension.cap.provision})" \
                if extension.cap else ""
            lines.append(f"Extended by {extension.amount} {extension.unit.replace('_', ' ')} from "
                         f"{format_day(extension.from_last_day)} to {format_day(extension.to_last_day)}: "
                         f"{extension.reason}{cap}.")
        if self.moved_over:
            lines.append(f"The count ends on {format_day(self.nominal_last_day)}, not a working day; the rule moves "
                         "it over " + "; ".join(d.describe() for d in self.moved_over) + ".")
        lines.append(f"Last day: {format_day(self.last_day)}, ending {self.ends_at_utc.isoformat()} "
                     f"({self.time_zone} 23:59:59.999). Holidays library {self.holidays_version}"
                     + (f", data {self.calendar_data_version}" if self.calendar_data_version else "") + ".")
        lines += list(self.warnings)
        return lines


@dataclass(frozen=True)
class Suspended:
    """A period whose clock is stopped by an open pause: it has no last day yet.

    ``remaining`` is what is left to count once the clock restarts, in ``remaining_unit``
    (``months`` and ``weeks`` are counted in days once started, so their remainder is in days).
    """

    start: date
    amount: int
    unit: Unit
    paused_on: date
    counted: int
    remaining: int
    remaining_unit: Literal["calendar_days", "working_days"]
    calendar: str
    time_zone: str
    holidays_version: str
    calendar_data_version: str | None
    skipped: tuple[NonWorkingDay, ...]
    pauses: tuple[Pause, ...]
    complete: bool
    warnings: tuple[str, ...]

    def explain(self) -> list[str]:
        return [f"Paused since {format_day(self.paused_on)}: no last day until the clock restarts. "
                f"{self.counted} counted, {self.remaining} {self.remaining_unit.replace('_', ' ')} left.",
                *self.warnings]


def count(
    start: date,
    amount: int,
    unit: Unit,
    calendar: Calendar,
    *,
    from_day_after: bool = True,
    move_off_non_working: Move = "none",
) -> CountedDeadline:
    """The last day of ``amount`` ``unit`` counted from ``start`` in ``calendar``.

    >>> count(date(2025, 7, 11), 10, "working_days", state_calendar("FR", time_zone="Europe/Paris")).last_day
    datetime.date(2025, 7, 28)
    """
    result = apply_pauses(start, amount, unit, calendar, [], from_day_after=from_day_after,
                          move_off_non_working=move_off_non_working)
    assert isinstance(result, CountedDeadline)  # no pause, so never suspended
    return result


def apply_pauses(
    start: date,
    amount: int,
    unit: Unit,
    calendar: Calendar,
    pauses: Sequence[Pause],
    *,
    from_day_after: bool = True,
    move_off_non_working: Move = "none",
) -> CountedDeadline | Suspended:
    """Count as :func:`count` does, with the clock stopped during ``pauses``.

    A pause ``(paused_on, resumed_on)`` stops the clock from the start of ``paused_on``; ``resumed_on``
    is the first day counted again (``None``: still paused). Pauses before the period or after its
    last day change nothing. An open pause reached before the last day means there is no last day
    yet: the answer is :class:`Suspended`.
    """
    _check(amount, unit, move_off_non_working)
    ordered = _check_pauses(pauses)
    anchor = start if from_day_after else start - timedelta(days=1)
    working = unit == "working_days"
    target = amount if working else _length_in_days(anchor, amount, unit)

    day, counted = anchor, 0
    skipped: list[NonWorkingDay] = []
    paused: list[date] = []
    while counted < target:
        day = next_day(day)
        _guard(anchor, day)
        state = _pause_state(day, ordered)
        if state == "open":
            return _suspended(start, amount, unit, calendar, day, counted, target - counted, working, skipped,
                              ordered, anchor)
        if state == "paused":
            paused.append(day)
            continue
        if working:
            reason = calendar.non_working(day)
            if reason is not None:
                skipped.append(reason)
                continue
        counted += 1
    nominal = day

    moved_over: list[NonWorkingDay] = []
    warnings: list[str] = []
    last = nominal
    reason = calendar.non_working(nominal)
    if reason is not None and move_off_non_working == "next":
        while (reason := calendar.non_working(last)) is not None or _pause_state(last, ordered) != "running":
            if _pause_state(last, ordered) == "open":
                return _suspended(start, amount, unit, calendar, last, counted, 0, working, skipped, ordered, anchor)
            if reason is not None:
                moved_over.append(reason)
            last = next_day(last)
            _guard(anchor, last)
    elif reason is not None:
        warnings.append(f"The last day, {reason.describe()}, is not a working day; the rule does not move it "
                        "(move_off_non_working='none').")

    coverage = calendar.coverage(next_day(anchor), last)
    return CountedDeadline(
        start=start, amount=amount, unit=unit, from_day_after=from_day_after,
        move_off_non_working=move_off_non_working, nominal_last_day=nominal, last_day=last,
        time_zone=calendar.time_zone, ends_at_utc=calendar.end_of_day_utc(last), calendar=calendar.description,
        holidays_version=HOLIDAYS_VERSION, calendar_data_version=calendar.data_version,
        skipped=tuple(skipped), moved_over=tuple(moved_over), paused_days=tuple(paused),
        pauses=tuple(ordered), extensions=(), complete=coverage.complete,
        warnings=tuple(warnings) + coverage.warnings,
    )


def extend(
    deadline: CountedDeadline,
    amount: int,
    unit: Unit,
    calendar: Calendar,
    reason: str,
    cap: Cap | None,
) -> CountedDeadline:
    """``deadline`` extended by ``amount`` ``unit``, refused (:class:`ExtensionRefused`) beyond ``cap``.

    The extension runs from the day after the deadline's count ended (its nominal last day: a move off
    a weekend is a grace on the last day, not a new end, so it does not compound across extensions),
    and the deadline's own rule for moving a last day applies again. ``cap`` bounds all extensions
    together, from the last day before the first extension; ``None`` says the rule sets no cap.
    """
    if calendar.description != deadline.calendar:
        raise InvalidInput(f"the deadline was counted in [{deadline.calendar}], not in [{calendar.description}]")
    if not reason.strip():
        raise InvalidInput("an extension needs its reason")
    base = deadline.nominal_last_day
    added = count(base, amount, unit, calendar, from_day_after=True,
                  move_off_non_working=deadline.move_off_non_working)
    if cap is not None:
        _check(cap.amount, cap.unit, "none")
        original = deadline.last_day_before_extensions
        limit = count(original, cap.amount, cap.unit, calendar).nominal_last_day
        if added.nominal_last_day > limit:
            already = (base - original).days
            raise ExtensionRefused(
                f"extending by {amount} {unit.replace('_', ' ')} would end on {format_day(added.nominal_last_day)}, "
                f"past the cap of {cap.amount} {cap.unit.replace('_', ' ')} from {format_day(original)} "
                f"({format_day(limit)}; {cap.provision})"
                + (f"; {already} day(s) already granted" if deadline.extensions else ""),
                cap_last_day=limit.isoformat(),
            )
    extension = Extension(amount=amount, unit=unit, reason=reason, cap=cap, from_last_day=base,
                          to_last_day=added.nominal_last_day)
    return replace(
        deadline,
        nominal_last_day=added.nominal_last_day, last_day=added.last_day, ends_at_utc=added.ends_at_utc,
        skipped=deadline.skipped + added.skipped, moved_over=added.moved_over,
        extensions=deadline.extensions + (extension,),
        complete=deadline.complete and added.complete,
        warnings=_unique(deadline.warnings + added.warnings),
    )


def _length_in_days(anchor: date, amount: int, unit: Unit) -> int:
    if unit == "calendar_days":
        return amount
    if unit == "weeks":
        return 7 * amount
    return (add_months(anchor, amount) - anchor).days


def _check(amount: int, unit: str, move: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise InvalidInput(f"a period is a whole number of units, at least 1 (got {amount!r})")
    if unit not in UNITS:
        raise InvalidInput(f"unknown unit {unit!r}; known: {list(UNITS)}")
    if move not in MOVES:
        raise InvalidInput(f"move_off_non_working is one of {list(MOVES)} (got {move!r})")


def _check_pauses(pauses: Sequence[Pause]) -> list[Pause]:
    ordered = sorted(pauses, key=lambda pause: pause[0])
    for index, (paused_on, resumed_on) in enumerate(ordered):
        if resumed_on is None:
            if index != len(ordered) - 1:
                raise InvalidInput(f"the pause from {paused_on} is still open, yet another starts after it")
            continue
        if resumed_on <= paused_on:
            raise InvalidInput(f"a pause must resume after it starts ({paused_on} → {resumed_on})")
        if index + 1 < len(ordered) and ordered[index + 1][0] < resumed_on:
            raise InvalidInput(f"pauses overlap: {paused_on}–{resumed_on} and one from {ordered[index + 1][0]}")
    return ordered


def _pause_state(day: date, pauses: Sequence[Pause]) -> Literal["running", "paused", "open"]:
    for paused_on, resumed_on in pauses:
        if resumed_on is None and day >= paused_on:
            return "open"
        if resumed_on is not None and paused_on <= day < resumed_on:
            return "paused"
    return "running"


def _guard(anchor: date, day: date) -> None:
    if (day - anchor).days > MAX_SPAN_DAYS:
        raise InvalidInput(f"no end found within {MAX_SPAN_DAYS} days of {anchor}: is the calendar ever open?")


def _suspended(start: date, amount: int, unit: Unit, calendar: Calendar, paused_on: date, counted: int,
               remaining: int, working: bool, skipped: list[NonWorkingDay], pauses: list[Pause],
               anchor: date) -> Suspended:
    coverage = calendar.coverage(next_day(anchor), max(paused_on, next_day(anchor)))
    return Suspended(
        start=start, amount=amount, unit=unit, paused_on=paused_on, counted=counted, remaining=remaining,
        remaining_unit="working_days" if working else "calendar_days", calendar=calendar.description,
        time_zone=calendar.time_zone, holidays_version=HOLIDAYS_VERSION,
        calendar_data_version=calendar.data_version, skipped=tuple(skipped), pauses=tuple(pauses),
        complete=coverage.complete, warnings=coverage.warnings,
    )


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
