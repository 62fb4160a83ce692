"""Date arithmetic for legal time limits.

Everything here is a pure function of its arguments: no clock, no environment, and nothing that
depends on the machine's time zone. A last day is a calendar date *in the time zone of the body
that counts it*; the instant at which it ends is computed from that zone alone.

Counting convention (the one the international bodies use, e.g. the ECtHR in *Otto v. Germany*):
the period starts the day after the start event, and the last day is the date in the final month
that corresponds to the start date; where that month is too short, the last day is the month's
last day. So 31 October 2023 + 4 months = 29 February 2024, and 31 January 2022 + 6 months =
31 July 2022. Weeks are 7 days; years are 12 months (so 29 February + 1 year = 28 February).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

# The brief asks for the end of the last day as 23:59:59.999 local time.
END_OF_DAY = time(23, 59, 59, 999_000)


class Unit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"


@dataclass(frozen=True)
class LastDay:
    """The last day of a period and when it ends.

    ``nominal_last_day`` is the day the arithmetic gives; ``last_day`` is the day that counts,
    which differs only when the rule moves a last day falling on a non-working day.
    """

    nominal_last_day: date
    last_day: date
    moved_to_next_working_day: bool
    time_zone: str
    ends_at_utc: datetime


@dataclass(frozen=True)
class NoFixedLimit:
    """A limit that gives no date ("reasonable time", or no limit at all), with why."""

    explanation: str


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, clamped to the end of a shorter month."""
    month_index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(month_index, 12)
    month = month0 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def add_period(start: date, length: int, unit: Unit | str) -> date:
    """``start`` plus ``length`` units (days, weeks, months or years)."""
    if length < 0:
        raise ValueError("a period cannot be negative")
    unit = Unit(unit)
    if unit is Unit.DAYS:
        return start + timedelta(days=length)
    if unit is Unit.WEEKS:
        return start + timedelta(weeks=length)
    if unit is Unit.MONTHS:
        return add_months(start, length)
    return add_months(start, 12 * length)


def is_weekend(day: date) -> bool:
    """Saturday or Sunday. Public holidays are not known here (they differ per body and year)."""
    return day.weekday() >= 5


def next_working_day(day: date) -> date:
    """``day`` itself if it is a weekday, else the Monday after."""
    while is_weekend(day):
        day += timedelta(days=1)
    return day


def end_of_day_utc(day: date, time_zone: str) -> datetime:
    """The instant (aware, UTC) at which ``day`` ends in ``time_zone`` (23:59:59.999 local)."""
    local = datetime.combine(day, END_OF_DAY, tzinfo=ZoneInfo(time_zone))
    return local.astimezone(UTC)


def last_day_of_period(
    start: date,
    length: int,
    unit: Unit | str,
    *,
    time_zone: str,
    moves_on_non_working_day: bool,
) -> LastDay:
    """The last day of a period of ``length`` ``unit`` starting after ``start``.

    When ``moves_on_non_working_day`` is true a last day on a Saturday or Sunday moves to the next
    Monday; otherwise it stays, which is what a rule whose source is silent must do (filing early
    is always safe, filing late never is).
    """
    nominal = add_period(start, length, unit)
    last = next_working_day(nominal) if moves_on_non_working_day else nominal
    return LastDay(
        nominal_last_day=nominal,
        last_day=last,
        moved_to_next_working_day=last != nominal,
        time_zone=time_zone,
        ends_at_utc=end_of_day_utc(last, time_zone),
    )


def reasonable_time(start_event_description: str | None = None) -> NoFixedLimit:
    """A "reasonable time" limit: no date can be computed, the body judges each case."""
    counted_from = f" counted from {start_event_description}" if start_event_description else ""
    return NoFixedLimit(
        "No fixed last day: the body requires filing within a reasonable time"
        f"{counted_from} and judges the delay case by case. File as early as possible."
    )


def no_time_limit() -> NoFixedLimit:
    return NoFixedLimit("The rules set no time limit for filing.")


def days_between(earlier: date, later: date) -> int:
    return (later - earlier).days
