"""Date arithmetic: month ends, leap years, non-working days, time zones, and properties."""

from __future__ import annotations

import calendar
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comitas_intake.admissibility.dates import (
    Unit,
    add_months,
    add_period,
    end_of_day_utc,
    is_weekend,
    last_day_of_period,
    next_working_day,
    no_time_limit,
    reasonable_time,
)

ZONES = ["Europe/Paris", "America/New_York", "Africa/Banjul", "Africa/Dar_es_Salaam", "Europe/Zurich"]


# --- month-end clamping and leap years -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2023, 10, 31), 4, date(2024, 2, 29)),  # into a leap February
        (date(2022, 1, 31), 6, date(2022, 7, 31)),  # the month has a 31st
        (date(2022, 10, 31), 4, date(2023, 2, 28)),  # into a common February
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 30), 1, date(2024, 2, 29)),
        (date(2024, 1, 29), 1, date(2024, 2, 29)),
        (date(2024, 1, 28), 1, date(2024, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2023, 8, 30), 6, date(2024, 2, 29)),
        (date(2022, 8, 30), 6, date(2023, 2, 28)),
        (date(2023, 3, 31), 1, date(2023, 4, 30)),
        (date(2023, 5, 31), 4, date(2023, 9, 30)),
        (date(2023, 12, 31), 2, date(2024, 2, 29)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        (date(2024, 2, 29), 1, date(2024, 3, 29)),
        (date(2024, 2, 29), 4, date(2024, 6, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2023, 12, 15), 1, date(2024, 1, 15)),  # across the year end
        (date(2023, 9, 30), 4, date(2024, 1, 30)),
        (date(2023, 10, 31), 0, date(2023, 10, 31)),
        (date(1999, 12, 31), 2, date(2000, 2, 29)),  # 2000 is a leap year (divisible by 400)
        (date(2099, 12, 31), 2, date(2100, 2, 28)),  # 2100 is not (divisible by 100)
    ],
)
def test_add_months_clamps_to_the_end_of_a_shorter_month(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize("year", [2019, 2020, 2021, 2022, 2023, 2024, 2100, 2000])
@pytest.mark.parametrize("months", [1, 2, 3, 4, 6, 12])
def test_every_last_day_of_a_month_lands_on_a_valid_day(year: int, months: int) -> None:
    for month in range(1, 13):
        start = date(year, month, calendar.monthrange(year, month)[1])
        result = add_months(start, months)
        last_of_target = calendar.monthrange(result.year, result.month)[1]
        assert result.day == min(start.day, last_of_target)
        assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months


@pytest.mark.parametrize(
    ("start", "length", "unit", "expected"),
    [
        (date(2024, 2, 29), 1, Unit.YEARS, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, Unit.YEARS, date(2028, 2, 29)),
        (date(2023, 2, 28), 1, Unit.YEARS, date(2024, 2, 28)),
        (date(2019, 3, 1), 5, Unit.YEARS, date(2024, 3, 1)),
        (date(2024, 2, 28), 1, Unit.DAYS, date(2024, 2, 29)),
        (date(2023, 2, 28), 1, Unit.DAYS, date(2023, 3, 1)),
        (date(2024, 2, 20), 2, Unit.WEEKS, date(2024, 3, 5)),
        (date(2023, 2, 20), 2, Unit.WEEKS, date(2023, 3, 6)),
        (date(2024, 12, 31), 60, Unit.DAYS, date(2025, 3, 1)),
        (date(2024, 1, 31), 1, Unit.MONTHS, date(2024, 2, 29)),
        (date(2024, 1, 31), 0, Unit.DAYS, date(2024, 1, 31)),
    ],
)
def test_add_period_per_unit(start: date, length: int, unit: Unit, expected: date) -> None:
    assert add_period(start, length, unit) == expected
    assert add_period(start, length, unit.value) == expected


def test_a_negative_period_is_refused() -> None:
    with pytest.raises(ValueError):
        add_period(date(2024, 1, 1), -1, Unit.DAYS)


# --- non-working days --------------------------------------------------------------------------------


def test_weekends_and_next_working_day() -> None:
    assert is_weekend(date(2022, 7, 30)) and is_weekend(date(2022, 7, 31))
    assert not is_weekend(date(2022, 8, 1))
    assert next_working_day(date(2022, 7, 30)) == date(2022, 8, 1)
    assert next_working_day(date(2022, 7, 31)) == date(2022, 8, 1)
    assert next_working_day(date(2024, 2, 29)) == date(2024, 2, 29)


def test_a_last_day_on_a_sunday_moves_only_when_the_rule_says_so() -> None:
    # 31 January 2022 + 6 months = Sunday 31 July 2022.
    stays = last_day_of_period(date(2022, 1, 31), 6, Unit.MONTHS, time_zone="Europe/Paris",
                               moves_on_non_working_day=False)
    assert stays.last_day == stays.nominal_last_day == date(2022, 7, 31)
    assert not stays.moved_to_next_working_day

    moves = last_day_of_period(date(2022, 1, 31), 6, Unit.MONTHS, time_zone="Europe/Paris",
                               moves_on_non_working_day=True)
    assert moves.nominal_last_day == date(2022, 7, 31)
    assert moves.last_day == date(2022, 8, 1)
    assert moves.moved_to_next_working_day


# --- the end of the last day, in the counting body's zone ---------------------------------------------------


@pytest.mark.parametrize(
    ("day", "zone", "expected_utc"),
    [
        (date(2024, 2, 29), "Europe/Paris", datetime(2024, 2, 29, 22, 59, 59, 999_000, tzinfo=UTC)),  # CET
        (date(2022, 7, 31), "Europe/Paris", datetime(2022, 7, 31, 21, 59, 59, 999_000, tzinfo=UTC)),  # CEST
        (date(2024, 3, 31), "Europe/Paris", datetime(2024, 3, 31, 21, 59, 59, 999_000, tzinfo=UTC)),  # DST start day
        (date(2024, 10, 27), "Europe/Zurich", datetime(2024, 10, 27, 22, 59, 59, 999_000, tzinfo=UTC)),  # DST end
        (date(2024, 1, 15), "America/New_York", datetime(2024, 1, 16, 4, 59, 59, 999_000, tzinfo=UTC)),  # EST
        (date(2024, 7, 15), "America/New_York", datetime(2024, 7, 16, 3, 59, 59, 999_000, tzinfo=UTC)),  # EDT
        (date(2024, 7, 15), "Africa/Banjul", datetime(2024, 7, 15, 23, 59, 59, 999_000, tzinfo=UTC)),  # UTC+0
        (date(2024, 7, 15), "Africa/Dar_es_Salaam", datetime(2024, 7, 15, 20, 59, 59, 999_000, tzinfo=UTC)),  # +3
    ],
)
def test_end_of_day_is_23_59_59_999_local_as_utc(day: date, zone: str, expected_utc: datetime) -> None:
    result = end_of_day_utc(day, zone)
    assert result == expected_utc
    assert result.tzinfo is UTC


def test_last_day_carries_its_zone_and_instant() -> None:
    result = last_day_of_period(date(2023, 10, 31), 4, Unit.MONTHS, time_zone="Europe/Paris",
                                moves_on_non_working_day=False)
    assert result.last_day == date(2024, 2, 29)
    assert result.time_zone == "Europe/Paris"
    assert result.ends_at_utc == datetime(2024, 2, 29, 22, 59, 59, 999_000, tzinfo=UTC)


def test_limits_without_a_date_explain_themselves() -> None:
    assert "reasonable time" in reasonable_time("exhaustion").explanation
    assert "exhaustion" in reasonable_time("exhaustion").explanation
    assert "no time limit" in no_time_limit().explanation


# --- properties ----------------------------------------------------------------------------------------

dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2200, 12, 31))
# Month ends and leap days are where arithmetic goes wrong: draw them often.
month_ends = st.builds(
    lambda year, month: date(year, month, calendar.monthrange(year, month)[1]),
    st.integers(1950, 2200), st.integers(1, 12),
)
leap_days = st.sampled_from([date(y, 2, 29) for y in range(1952, 2200, 4) if calendar.isleap(y)])
starts = st.one_of(dates, month_ends, leap_days)
units = st.sampled_from(list(Unit))
lengths = st.integers(min_value=0, max_value=120)
zones = st.sampled_from(ZONES)


@given(start=starts, length=lengths, unit=units, zone=zones, moves=st.booleans())
def test_the_last_day_is_never_before_the_start(start: date, length: int, unit: Unit, zone: str,
                                                moves: bool) -> None:
    result = last_day_of_period(start, length, unit, time_zone=zone, moves_on_non_working_day=moves)
    assert result.last_day >= result.nominal_last_day >= start


@given(first=starts, gap=st.integers(min_value=0, max_value=400), length=lengths, unit=units, moves=st.booleans())
def test_a_later_start_never_gives_an_earlier_last_day(first: date, gap: int, length: int, unit: Unit,
                                                       moves: bool) -> None:
    second = first + timedelta(days=gap)
    earlier = last_day_of_period(first, length, unit, time_zone="Europe/Paris", moves_on_non_working_day=moves)
    later = last_day_of_period(second, length, unit, time_zone="Europe/Paris", moves_on_non_working_day=moves)
    assert later.last_day >= earlier.last_day
    assert later.ends_at_utc >= earlier.ends_at_utc


@given(start=month_ends, length=st.integers(min_value=0, max_value=60))
def test_consecutive_month_ends_keep_their_order(start: date, length: int) -> None:
    # The day after a month end starts the next month: its last day must not come earlier.
    assert add_months(start + timedelta(days=1), length) >= add_months(start, length)


@given(start=starts, length=lengths, unit=st.sampled_from([Unit.DAYS, Unit.WEEKS]))
def test_days_and_weeks_shift_exactly_with_the_start(start: date, length: int, unit: Unit) -> None:
    assert add_period(start + timedelta(days=1), length, unit) == add_period(start, length, unit) + timedelta(1)


@contextmanager
def machine_time_zone(name: str) -> Iterator[None]:
    """Run with the process's local time zone set to ``name``, then put back whatever was there."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


MACHINE_ZONES = ["UTC", "Pacific/Kiritimati", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Pago_Pago",
                 "Europe/Paris"]


def test_machine_time_zone_really_changes_local_time() -> None:
    # Guards the property below against passing vacuously if tzset had no effect.
    instant = 1_700_000_000
    with machine_time_zone("Pacific/Kiritimati"):
        far_east = time.localtime(instant).tm_hour
    with machine_time_zone("Pacific/Pago_Pago"):
        far_west = time.localtime(instant).tm_hour
    assert far_east != far_west


@settings(max_examples=40)
@given(start=starts, length=lengths, unit=units, zone=zones, moves=st.booleans())
def test_the_result_does_not_depend_on_the_machine_time_zone(start: date, length: int, unit: Unit, zone: str,
                                                             moves: bool) -> None:
    results = []
    for machine_zone in MACHINE_ZONES:
        with machine_time_zone(machine_zone):
            results.append(last_day_of_period(start, length, unit, time_zone=zone,
                                              moves_on_non_working_day=moves))
    assert all(result == results[0] for result in results)
    # And the instant is really the end of the local day in the body's zone.
    local = results[0].ends_at_utc.astimezone(ZoneInfo(zone))
    assert (local.date(), local.hour, local.minute, local.second) == (results[0].last_day, 23, 59, 59)
