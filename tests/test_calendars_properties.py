"""Properties of period counting that must hold for every start date, length and calendar."""

from __future__ import annotations

import calendar as gregorian
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from comitas_shared.calendars import (
    FRIDAY_SATURDAY,
    Calendar,
    Closure,
    CountedDeadline,
    apply_pauses,
    body_calendar,
    count,
    state_calendar,
)

CALENDARS: list[Calendar] = [
    state_calendar("FR", time_zone="Europe/Paris"),
    state_calendar("DE", "BY", time_zone="Europe/Berlin", categories=("public", "catholic")),
    state_calendar("ES", "CT", time_zone="Europe/Madrid"),
    state_calendar("BR", time_zone="America/Sao_Paulo"),
    state_calendar("US", "DC", time_zone="America/New_York"),
    state_calendar("IL", time_zone="Asia/Jerusalem", weekend=FRIDAY_SATURDAY),
    state_calendar("CH", "GE", time_zone="Europe/Zurich", closures=[
        Closure(date(2024, 12, 23), "Winter closure", "test data", until=date(2025, 1, 3)),
        Closure(date(2031, 8, 4), "Summer closure", "test data", until=date(2031, 8, 15)),
    ]),
    body_calendar("coe_strasbourg"),
    body_calendar("un_geneva"),
]

calendars = st.sampled_from(CALENDARS)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
lengths = st.integers(min_value=1, max_value=60)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, lengths)
def test_a_working_day_count_never_ends_on_a_non_working_day(calendar, start, n):
    result = count(start, n, "working_days", calendar)
    assert calendar.is_working_day(result.last_day)
    assert result.last_day == result.nominal_last_day and result.moved_over == ()
    # Exactly n working days lie after the start up to the last day, and every other day was skipped.
    span = [start + timedelta(days=i) for i in range(1, (result.last_day - start).days + 1)]
    assert sum(calendar.is_working_day(d) for d in span) == n
    assert [d.day for d in result.skipped] == [d for d in span if not calendar.is_working_day(d)]


@settings(max_examples=200, deadline=None)
@given(calendars, starts, lengths, lengths)
def test_n_then_m_working_days_is_n_plus_m(calendar, start, n, m):
    first = count(start, n, "working_days", calendar)
    assert count(first.last_day, m, "working_days", calendar).last_day == \
        count(start, n + m, "working_days", calendar).last_day


@settings(max_examples=200, deadline=None)
@given(calendars, starts, st.integers(min_value=1, max_value=400))
def test_calendar_days_end_where_they_end_unless_the_rule_moves_them(calendar, start, n):
    stays = count(start, n, "calendar_days", calendar)
    assert stays.last_day == start + timedelta(days=n)
    moved = count(start, n, "calendar_days", calendar, move_off_non_working="next")
    assert moved.nominal_last_day == stays.last_day <= moved.last_day
    assert calendar.is_working_day(moved.last_day)
    between = [stays.last_day + timedelta(days=i) for i in range((moved.last_day - stays.last_day).days)]
    assert all(not calendar.is_working_day(d) for d in between)
    assert [d.day for d in moved.moved_over] == between


@settings(max_examples=300, deadline=None)
@given(starts, st.integers(min_value=1, max_value=240))
def test_months_land_on_the_corresponding_day_clamped_to_the_months_end(start, n):
    last = count(start, n, "months", CALENDARS[0]).last_day
    assert (last.year - start.year) * 12 + (last.month - start.month) == n
    assert last.day == min(start.day, gregorian.monthrange(last.year, last.month)[1])


@settings(max_examples=200, deadline=None)
@given(calendars, starts, st.integers(min_value=2, max_value=120), st.data())
def test_a_pause_inside_a_calendar_day_period_moves_its_end_by_the_pauses_length(calendar, start, n, data):
    plain = count(start, n, "calendar_days", calendar).last_day
    paused_on = data.draw(st.dates(min_value=start + timedelta(days=1), max_value=plain))
    length = data.draw(st.integers(min_value=1, max_value=30))
    result = apply_pauses(start, n, "calendar_days", calendar, [(paused_on, paused_on + timedelta(days=length))])
    assert isinstance(result, CountedDeadline)
    assert result.last_day == plain + timedelta(days=length)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, lengths, lengths)
def test_a_longer_period_never_ends_earlier(calendar, start, n, extra):
    for unit in ("calendar_days", "working_days", "weeks", "months"):
        assert count(start, n, unit, calendar).last_day <= count(start, n + extra, unit, calendar).last_day
