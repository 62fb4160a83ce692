"""Legal calendars and period counting (comitas_shared.calendars), on cases derived from sources.

Each State case names the holiday it turns on, checks first that the pinned ``holidays`` library
knows it (so a library change fails here, loudly, rather than moving deadlines silently), and
derives the expected last day by hand in a comment. Body cases come from the sources in the data
files (the ECtHR's 2021 Ascension closure, the 2020 suspensions of the ECtHR and the IACHR).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from comitas_shared.calendars import (
    FRIDAY_SATURDAY,
    HOLIDAYS_VERSION,
    Calendar,
    CalendarFileError,
    Cap,
    Closure,
    CountedDeadline,
    ExtensionRefused,
    NonWorkingKind,
    Suspended,
    add_months,
    apply_pauses,
    body_calendar,
    body_keys,
    count,
    end_of_day_utc,
    extend,
    load_body_calendars,
    state_calendar,
)
from comitas_shared.errors import InvalidInput

ROOT = Path(__file__).resolve().parent.parent

FRANCE = state_calendar("FR", time_zone="Europe/Paris")
GERMANY = state_calendar("DE", time_zone="Europe/Berlin")
BAVARIA = state_calendar("DE", "BY", time_zone="Europe/Berlin")
BAVARIA_CATHOLIC = state_calendar("DE", "BY", time_zone="Europe/Berlin", categories=("public", "catholic"))
SPAIN = state_calendar("ES", time_zone="Europe/Madrid")
CATALONIA = state_calendar("ES", "CT", time_zone="Europe/Madrid")
BRAZIL = state_calendar("BR", time_zone="America/Sao_Paulo")


def holiday_named(calendar: Calendar, day: date) -> str:
    found = calendar.non_working(day)
    assert found is not None and found.kind is NonWorkingKind.PUBLIC_HOLIDAY, (
        f"holidays {HOLIDAYS_VERSION} no longer has a public holiday on {day} in {calendar.place}")
    return found.name


def skipped_days(result: CountedDeadline) -> list[date]:
    return [d.day for d in result.skipped]


# -- working days around a State's public holiday ------------------------------------------------------

def test_ten_working_days_from_the_friday_before_bastille_day():
    # 14 July 2025 is a Monday. From Fri 11 July: Tue 15..Fri 18 (4), Mon 21..Fri 25 (9), Mon 28 (10).
    assert date(2025, 7, 11).weekday() == 4 and date(2025, 7, 14).weekday() == 0
    assert holiday_named(FRANCE, date(2025, 7, 14)) == "National Day"
    result = count(date(2025, 7, 11), 10, "working_days", FRANCE)
    assert result.last_day == result.nominal_last_day == date(2025, 7, 28)
    assert skipped_days(result) == [date(2025, 7, d) for d in (12, 13, 14, 19, 20, 26, 27)]
    holiday = next(d for d in result.skipped if d.day == date(2025, 7, 14))
    assert holiday.kind is NonWorkingKind.PUBLIC_HOLIDAY and HOLIDAYS_VERSION in holiday.source
    assert result.complete and result.warnings == ()
    # Where 14 July is a working day (Germany), the same count ends one working day earlier.
    assert count(date(2025, 7, 11), 10, "working_days", GERMANY).last_day == date(2025, 7, 25)


def test_calendar_days_end_where_they_end_and_move_only_when_the_rule_says():
    # 10 calendar days from Fri 4 July 2025 end on Mon 14 July, the holiday.
    stays = count(date(2025, 7, 4), 10, "calendar_days", FRANCE)
    assert stays.last_day == date(2025, 7, 14) and stays.moved_over == ()
    assert any("not a working day" in w for w in stays.warnings)
    moves = count(date(2025, 7, 4), 10, "calendar_days", FRANCE, move_off_non_working="next")
    assert moves.nominal_last_day == date(2025, 7, 14) and moves.last_day == date(2025, 7, 15)
    assert [d.day for d in moves.moved_over] == [date(2025, 7, 14)]
    # 10 calendar days from the Friday before the holiday end on Mon 21 July, a working day: no move.
    for move in ("none", "next"):
        assert count(date(2025, 7, 11), 10, "calendar_days", FRANCE, move_off_non_working=move).last_day \
            == date(2025, 7, 21)


def test_german_unity_day():
    # 3 October 2022 is a Monday. From Fri 30 Sept: Tue 4..Fri 7 (4), Mon 10..Fri 14 (9), Mon 17 (10).
    assert date(2022, 10, 3).weekday() == 0
    assert holiday_named(GERMANY, date(2022, 10, 3)) == "German Unity Day"
    assert count(date(2022, 9, 30), 10, "working_days", GERMANY).last_day == date(2022, 10, 17)
    # 3 calendar days from Fri 30 Sept land on the holiday; moved, the last day is Tue 4 Oct.
    moved = count(date(2022, 9, 30), 3, "calendar_days", GERMANY, move_off_non_working="next")
    assert (moved.nominal_last_day, moved.last_day) == (date(2022, 10, 3), date(2022, 10, 4))


def test_bavarias_15_august_is_a_holiday_only_in_the_catholic_category():
    # 15 August 2022 is a Monday. In the library, Bavaria's Assumption Day is in the "catholic"
    # category (a holiday only in its Catholic-majority municipalities), not in "public".
    assert date(2022, 8, 15).weekday() == 0
    assert BAVARIA.non_working(date(2022, 8, 15)) is None
    assert holiday_named(BAVARIA_CATHOLIC, date(2022, 8, 15)) == "Assumption Day"
    # From Fri 12 Aug: with the holiday, Tue 16..Fri 19 (4), 22..26 (9), Mon 29 (10); without, Fri 26.
    assert count(date(2022, 8, 12), 10, "working_days", BAVARIA_CATHOLIC).last_day == date(2022, 8, 29)
    assert count(date(2022, 8, 12), 10, "working_days", BAVARIA).last_day == date(2022, 8, 26)


def test_catalonias_national_day_counts_only_in_catalonia():
    # 11 September 2023 is a Monday, Catalonia's National Day; not a holiday in Spain as a whole.
    assert date(2023, 9, 11).weekday() == 0
    assert holiday_named(CATALONIA, date(2023, 9, 11)) == "National Day of Catalonia"
    assert SPAIN.non_working(date(2023, 9, 11)) is None
    # From Fri 8 Sept: Tue 12..Fri 15 (4), 18..22 (9), Mon 25 (10) in Catalonia; Fri 22 in Spain.
    assert count(date(2023, 9, 8), 10, "working_days", CATALONIA).last_day == date(2023, 9, 25)
    assert count(date(2023, 9, 8), 10, "working_days", SPAIN).last_day == date(2023, 9, 22)
    assert CATALONIA.description != SPAIN.description


def test_tiradentes_and_labour_day_in_brazil():
    # From Good Friday 18 April 2025: Mon 21 (Tiradentes) skipped; Tue 22..Fri 25 (4), Mon 28..Wed 30
    # (7), Thu 1 May (Worker's Day) skipped, Fri 2 (8), Mon 5 (9), Tue 6 May (10).
    assert holiday_named(BRAZIL, date(2025, 4, 18)) == "Good Friday"
    assert holiday_named(BRAZIL, date(2025, 4, 21)) == "Tiradentes' Day"
    assert holiday_named(BRAZIL, date(2025, 5, 1)) == "Worker's Day"
    result = count(date(2025, 4, 18), 10, "working_days", BRAZIL)
    assert result.last_day == date(2025, 5, 6)
    assert [d.day for d in result.skipped if d.kind is NonWorkingKind.PUBLIC_HOLIDAY] == \
        [date(2025, 4, 21), date(2025, 5, 1)]
    # São Paulo keeps UTC-3 all year (no daylight saving since 2019): the day ends 02:59:59.999 UTC.
    assert result.time_zone == "America/Sao_Paulo"
    assert result.ends_at_utc == datetime(2025, 5, 7, 2, 59, 59, 999_000, tzinfo=UTC)


# -- when a last day ends --------------------------------------------------------------------------------

def test_a_last_day_ends_at_local_midnight_in_utc_with_daylight_saving():
    assert end_of_day_utc(date(2025, 7, 28), "Europe/Paris") == datetime(2025, 7, 28, 21, 59, 59, 999_000, tzinfo=UTC)
    assert end_of_day_utc(date(2025, 1, 15), "Europe/Paris") == datetime(2025, 1, 15, 22, 59, 59, 999_000, tzinfo=UTC)
    assert end_of_day_utc(date(2025, 1, 15), "America/New_York") == \
        datetime(2025, 1, 16, 4, 59, 59, 999_000, tzinfo=UTC)
    assert FRANCE.end_of_day_utc(date(2025, 7, 28)) == count(date(2025, 7, 11), 10, "working_days", FRANCE).ends_at_utc


@pytest.mark.parametrize("host_zone", ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])
def test_results_do_not_depend_on_the_hosts_time_zone(monkeypatch, host_zone):
    expected = count(date(2025, 7, 11), 10, "working_days", FRANCE)
    monkeypatch.setenv("TZ", host_zone)
    time.tzset()
    try:
        assert count(date(2025, 7, 11), 10, "working_days", FRANCE) == expected
    finally:
        monkeypatch.undo()
        time.tzset()


# -- months, weeks, and where the count starts --------------------------------------------------------------

@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2025, 1, 31), 1, date(2025, 2, 28)),   # clamped to February's end
    (date(2024, 1, 31), 1, date(2024, 2, 29)),   # leap year
    (date(2024, 2, 29), 12, date(2025, 2, 28)),  # a year from 29 February
    (date(2023, 10, 31), 4, date(2024, 2, 29)),  # intake's dates.py example
    (date(2022, 1, 31), 6, date(2022, 7, 31)),
    (date(2025, 4, 30), 1, date(2025, 5, 30)),   # the corresponding date, not the month's end
    (date(2025, 12, 31), 2, date(2026, 2, 28)),  # across a year end
])
def test_months_clamp_to_the_end_of_a_shorter_month(start, months, expected):
    assert add_months(start, months) == expected
    result = count(start, months, "months", FRANCE)
    assert result.nominal_last_day == expected


def test_counting_the_start_day_itself():
    # "From 1 January, one month" counting 1 January: 31 January. Ten days from 1 March: 10 March.
    assert count(date(2025, 1, 1), 1, "months", FRANCE, from_day_after=False).last_day == date(2025, 1, 31)
    assert count(date(2025, 3, 1), 10, "calendar_days", FRANCE, from_day_after=False).last_day == date(2025, 3, 10)
    # A working start day is working day one: from Mon 7 July 2025, the 5th working day is Fri 11.
    assert count(date(2025, 7, 7), 5, "working_days", FRANCE, from_day_after=False).last_day == date(2025, 7, 11)


def test_weeks_and_a_month_ending_on_a_holiday():
    assert count(date(2025, 7, 2), 2, "weeks", FRANCE).last_day == date(2025, 7, 16)
    # One month from 14 June 2025 ends on Mon 14 July; moved, Tue 15 July.
    moved = count(date(2025, 6, 14), 1, "months", FRANCE, move_off_non_working="next")
    assert (moved.nominal_last_day, moved.last_day) == (date(2025, 7, 14), date(2025, 7, 15))


# -- pauses --------------------------------------------------------------------------------------------------

def test_a_working_day_period_paused_for_five_working_days_ends_five_working_days_later():
    # Without the pause: Mon 28 July 2025. Paused Mon 21..Fri 25 July (resumed Sat 26): four counted
    # before (15..18), then 28, 29, 30, 31 July, 1 Aug (9), Mon 4 Aug (10).
    plain = count(date(2025, 7, 11), 10, "working_days", FRANCE)
    paused = apply_pauses(date(2025, 7, 11), 10, "working_days", FRANCE, [(date(2025, 7, 21), date(2025, 7, 26))])
    assert isinstance(paused, CountedDeadline)
    assert paused.last_day == date(2025, 8, 4)
    assert paused.paused_days == tuple(date(2025, 7, d) for d in range(21, 26))
    assert plain.last_day == date(2025, 7, 28)
    assert count(plain.last_day, 5, "working_days", FRANCE).last_day == paused.last_day
    # A pause over a weekend only stops no working day.
    weekend_only = apply_pauses(date(2025, 7, 11), 10, "working_days", FRANCE, [(date(2025, 7, 19), date(2025, 7, 21))])
    assert isinstance(weekend_only, CountedDeadline) and weekend_only.last_day == plain.last_day


def test_a_calendar_day_period_paused_for_five_days_ends_five_days_later():
    assert count(date(2025, 3, 1), 20, "calendar_days", FRANCE).last_day == date(2025, 3, 21)
    paused = apply_pauses(date(2025, 3, 1), 20, "calendar_days", FRANCE, [(date(2025, 3, 10), date(2025, 3, 15))])
    assert isinstance(paused, CountedDeadline) and paused.last_day == date(2025, 3, 26)
    assert any("resumed Sat 15 Mar 2025" in line for line in paused.explain())


def test_pauses_outside_the_period_change_nothing():
    plain = count(date(2025, 3, 1), 20, "calendar_days", FRANCE)
    outside = apply_pauses(date(2025, 3, 1), 20, "calendar_days", FRANCE,
                           [(date(2025, 2, 1), date(2025, 2, 10)), (date(2025, 3, 22), None)])
    assert isinstance(outside, CountedDeadline) and outside.last_day == plain.last_day


def test_an_open_pause_means_no_last_day_yet():
    result = apply_pauses(date(2025, 3, 1), 20, "calendar_days", FRANCE, [(date(2025, 3, 10), None)])
    # Counted 2..9 March (8 days) before the clock stopped; 12 remain.
    assert isinstance(result, Suspended)
    assert (result.paused_on, result.counted, result.remaining, result.remaining_unit) == \
        (date(2025, 3, 10), 8, 12, "calendar_days")
    # Resumed on 20 March, the 12 remaining days end on 31 March.
    resumed = apply_pauses(date(2025, 3, 1), 20, "calendar_days", FRANCE, [(date(2025, 3, 10), date(2025, 3, 20))])
    assert isinstance(resumed, CountedDeadline) and resumed.last_day == date(2025, 3, 31)


@pytest.mark.parametrize("pauses", [
    [(date(2025, 3, 10), date(2025, 3, 9))],                                  # resumes before it starts
    [(date(2025, 3, 10), date(2025, 3, 15)), (date(2025, 3, 14), date(2025, 3, 20))],  # overlap
    [(date(2025, 3, 10), None), (date(2025, 3, 20), date(2025, 3, 25))],      # after an open pause
])
def test_malformed_pauses_are_refused(pauses):
    with pytest.raises(InvalidInput):
        apply_pauses(date(2025, 3, 1), 20, "calendar_days", FRANCE, pauses)


def test_the_iachr_2020_suspension_from_its_data():
    # IACHR PR 059/20 and 083/20: petition and case deadlines on hold 19 March to 21 May 2020
    # inclusive (64 days). A three-month State response period (IACHR Rules Art 30(3)) from a
    # transmission on 2 March 2020 would end on 2 June; with the suspension, 64 days later: 5 August.
    iachr = body_calendar("iachr_washington")
    assert iachr.body is not None
    (suspension,) = iachr.body.suspensions
    assert suspension.as_pause() == (date(2020, 3, 19), date(2020, 5, 22))
    assert "46" in (suspension.excludes or "") and "51" in (suspension.excludes or "")
    assert count(date(2020, 3, 2), 3, "months", iachr).last_day == date(2020, 6, 2)
    result = apply_pauses(date(2020, 3, 2), 3, "months", iachr, [suspension.as_pause()])
    assert isinstance(result, CountedDeadline)
    assert len(result.paused_days) == 64 and result.last_day == date(2020, 8, 5)
    assert result.time_zone == "America/New_York"
    assert not result.complete  # the OAS's 2020 holidays are not in the data


def test_the_echr_2020_suspension_and_a_last_day_that_does_not_move():
    # ECtHR: time limits suspended from 16 March to 15 June 2020 inclusive (92 days). A six-month
    # limit running from a final decision of 20 December 2019 ended on 20 June 2020; suspended, 92
    # days later: Sunday 20 September 2020, which the Court does not move (Sabri Güneş v. Turkey [GC]).
    echr = body_calendar("coe_strasbourg")
    assert echr.body is not None
    (suspension,) = echr.body.suspensions
    result = apply_pauses(date(2019, 12, 20), 6, "months", echr, [suspension.as_pause()])
    assert isinstance(result, CountedDeadline)
    assert len(result.paused_days) == 92
    assert result.last_day == date(2020, 9, 20) and result.last_day.weekday() == 6
    assert any("not a working day" in w for w in result.warnings)


# -- extensions ------------------------------------------------------------------------------------------------

EIO_CAP = Cap(30, "calendar_days", "Directive 2014/41/EU Art 12(5)")


def eio_decision_deadline() -> CountedDeadline:
    # EIO Art 12(3): decide on recognition within 30 days of receipt; received Mon 2 June 2025.
    return count(date(2025, 6, 2), 30, "calendar_days", GERMANY)


def test_an_extension_within_its_cap():
    deadline = eio_decision_deadline()
    assert deadline.last_day == date(2025, 7, 2)
    extended = extend(deadline, 30, "calendar_days", GERMANY, "executing authority informed the issuer", EIO_CAP)
    assert extended.last_day == date(2025, 8, 1)
    assert extended.last_day_before_extensions == date(2025, 7, 2)
    assert extended.extensions[0].reason == "executing authority informed the issuer"
    assert any("Art 12(5)" in line for line in extended.explain())


def test_an_extension_beyond_its_cap_is_refused():
    deadline = eio_decision_deadline()
    with pytest.raises(ExtensionRefused) as refused:
        extend(deadline, 31, "calendar_days", GERMANY, "more time", EIO_CAP)
    assert isinstance(refused.value, InvalidInput) and refused.value.slug == "extension-beyond-cap"
    assert "Art 12(5)" in refused.value.detail and "Fri 1 Aug 2025" in refused.value.detail
    # The cap bounds all extensions together: 20 then 15 days is 35 > 30; 20 then 10 is exactly 30.
    first = extend(deadline, 20, "calendar_days", GERMANY, "first request", EIO_CAP)
    with pytest.raises(ExtensionRefused):
        extend(first, 15, "calendar_days", GERMANY, "second request", EIO_CAP)
    assert extend(first, 10, "calendar_days", GERMANY, "second request", EIO_CAP).last_day == date(2025, 8, 1)


def test_an_extension_needs_its_reason_and_the_deadlines_calendar():
    deadline = eio_decision_deadline()
    with pytest.raises(InvalidInput):
        extend(deadline, 5, "calendar_days", GERMANY, "  ", EIO_CAP)
    with pytest.raises(InvalidInput):
        extend(deadline, 5, "calendar_days", FRANCE, "wrong calendar", EIO_CAP)
    assert extend(deadline, 5, "working_days", GERMANY, "no cap in this rule", None).last_day == date(2025, 7, 9)


# -- international bodies: known, partly known and unknown years ---------------------------------------------

def test_a_year_absent_from_a_bodys_data_is_unknown_not_a_plain_weekend_calendar():
    geneva = body_calendar("un_geneva")
    result = count(date(2026, 3, 2), 10, "working_days", geneva)
    assert result.last_day == date(2026, 3, 16)   # weekends only: all the data knows
    assert result.complete is False
    assert any("2026" in w and "unknown: check" in w for w in result.warnings)
    assert result.calendar_data_version is not None and result.calendar_data_version.startswith("un_geneva@")
    assert result.time_zone == "Europe/Zurich"


def test_the_echr_ascension_closure_of_2021_is_skipped_and_the_year_still_partial():
    # The Court was closed Thu 13 and Fri 14 May 2021. From Mon 10 May: Tue 11 (1), Wed 12 (2),
    # Mon 17 (3), Tue 18 (4), Wed 19 (5).
    echr = body_calendar("coe_strasbourg")
    result = count(date(2021, 5, 10), 5, "working_days", echr)
    assert result.last_day == date(2021, 5, 19)
    closures = [d for d in result.skipped if d.kind is NonWorkingKind.BODY_CLOSURE]
    assert [d.day for d in closures] == [date(2021, 5, 13), date(2021, 5, 14)]
    assert all("strasbourgobservers.com" in d.source for d in closures)
    assert result.complete is False and any("2021" in w and "check" in w for w in result.warnings)


def write_body(directory: Path, key: str, years: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{key}.toml").write_text(f'''schema_version = 1
version = "2026-12-02"
key = "{key}"
name = "Test body"
short_name = "Test"
[time_zone]
iana = "Europe/Zurich"
source = "test"
status = "confirmed"
[weekend]
days = ["saturday", "sunday"]
source = "test"
status = "confirmed"
[holidays]
rule = "test"
source = "test"
status = "confirmed"
{years}''', encoding="utf-8")


def test_a_complete_confirmed_year_gives_a_complete_answer_and_unconfirmed_closures_only_warn(tmp_path):
    write_body(tmp_path, "test_body", '''
[[years]]
year = 2026
complete = true
status = "confirmed"
source = "test circular"
[[years.closures]]
date = 2026-03-05
name = "Confirmed closure"
source = "test circular"
status = "confirmed"
[[years.closures]]
date = 2026-03-06
name = "Reported closure"
source = "a blog"
status = "unconfirmed"
''')
    body = load_body_calendars(tmp_path)["test_body"]
    calendar = Calendar(time_zone=body.time_zone, weekend=body.weekend, body=body)
    result = count(date(2026, 3, 2), 4, "working_days", calendar)
    # Tue 3 (1), Wed 4 (2), Thu 5 closed, Fri 6 counted (unconfirmed is never skipped) (3), Mon 9 (4).
    assert result.last_day == date(2026, 3, 9)
    assert [d.day for d in result.skipped][0] == date(2026, 3, 5)
    assert result.complete is True
    assert any("may be closed on Fri 6 Mar 2026" in w and "check" in w for w in result.warnings)


@pytest.mark.parametrize(("years", "field"), [
    ('[[years]]\nyear = 2026\ncomplete = true\nstatus = "confirmed"\n', "years.0.source"),
    ('[[years]]\nyear = 2026\ncomplete = true\nstatus = "sure"\nsource = "x"\n', "years.0.status"),
    ('[[years]]\nyear = 2026\ncomplete = true\nstatus = "confirmed"\nsource = "x"\n[[years.closures]]\n'
     'date = 2027-01-01\nname = "n"\nsource = "s"\nstatus = "confirmed"\n', "years.0"),
    ('guessed = true\n', "guessed"),
])
def test_a_malformed_body_file_names_the_file_and_the_field(tmp_path, years, field):
    write_body(tmp_path, "bad_body", years)
    with pytest.raises(CalendarFileError) as error:
        load_body_calendars(tmp_path)
    assert "bad_body.toml" in str(error.value) and field in str(error.value)


def test_every_shipped_body_file_loads_with_sources():
    bodies = load_body_calendars()
    assert set(bodies) == set(body_keys()) == {"coe_strasbourg", "un_geneva", "iachr_washington"}
    for key, body in bodies.items():
        data = body.data
        assert data.key == key and body.data_version.startswith(f"{key}@")
        for sourced in (data.time_zone, data.weekend, data.holidays, *data.years, *data.suspensions,
                        *(c for y in data.years for c in y.closures)):
            assert sourced.source.strip() and sourced.status in {"confirmed", "partial", "unconfirmed"}
        # No shipped year is complete: every body year is "unknown: check" until its list is entered.
        assert not any(y.known for y in data.years)


# -- an institution's own closures, other weekends, what a result records -------------------------------------

def test_an_institutions_own_closures_are_skipped_with_their_source():
    registry = state_calendar("FR", time_zone="Europe/Paris", closures=[
        Closure(date(2025, 12, 22), "Registry winter closure", "institution notice 2025/14", until=date(2026, 1, 2)),
    ])
    result = count(date(2025, 12, 19), 3, "working_days", registry)
    # Closed Mon 22 Dec 2025 to Fri 2 Jan 2026 (Christmas and New Year's Day fall inside); then
    # Mon 5 (1), Tue 6 (2), Wed 7 Jan 2026 (3).
    assert result.last_day == date(2026, 1, 7)
    closed = [d for d in result.skipped if d.kind is NonWorkingKind.CLOSURE]
    assert closed[0].day == date(2025, 12, 22) and closed[0].source == "institution notice 2025/14"
    assert "1 institution closure(s)" in result.calendar


def test_a_friday_saturday_weekend():
    israel = state_calendar("IL", time_zone="Asia/Jerusalem", weekend=FRIDAY_SATURDAY)
    # 3 working days from Wed 8 Jan 2025: Thu 9 (1), Sun 12 (2), Mon 13 (3).
    result = count(date(2025, 1, 8), 3, "working_days", israel)
    assert result.last_day == date(2025, 1, 13)
    assert result.warnings == ()
    # The default Saturday–Sunday weekend differs from the library's for Israel: every result says so.
    default = count(date(2025, 1, 8), 3, "working_days", state_calendar("IL", time_zone="Asia/Jerusalem"))
    assert any("Fri/Sat" in w and "check" in w for w in default.warnings)


def test_an_estimated_holiday_makes_the_answer_incomplete():
    egypt = state_calendar("EG", time_zone="Africa/Cairo", weekend=FRIDAY_SATURDAY)
    # The library computes 2027's Eid al-Fitr (9-10 March) rather than knowing it, and says so.
    for day in (date(2027, 3, 9), date(2027, 3, 10)):
        found = egypt.non_working(day)
        assert found is not None and "estimated" in found.name
    result = count(date(2027, 3, 1), 10, "working_days", egypt)
    assert result.complete is False
    assert any("estimated" in w and "check the official date" in w for w in result.warnings)


def test_every_result_records_the_pinned_holidays_version():
    pinned = re.search(r"^holidays==(\S+)$", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    assert pinned is not None and pinned.group(1) == HOLIDAYS_VERSION
    result = count(date(2025, 7, 11), 10, "working_days", FRANCE)
    assert result.holidays_version == HOLIDAYS_VERSION
    assert f"holidays {HOLIDAYS_VERSION}" in result.calendar and "Europe/Paris" in result.calendar


@pytest.mark.parametrize("build", [
    lambda: state_calendar("FRA", time_zone="Europe/Paris"),           # alpha-3, not alpha-2
    lambda: state_calendar("fr", time_zone="Europe/Paris"),
    lambda: state_calendar("XX", time_zone="Europe/Paris"),
    lambda: state_calendar("DE", "Bavaria", time_zone="Europe/Berlin"),
    lambda: state_calendar("DE", "BY", time_zone="Europe/Berlin", categories=("school_holidays",)),
    lambda: state_calendar("FR", time_zone="Europe/Strasbourg"),
    lambda: state_calendar("FR", time_zone="Europe/Paris", weekend=range(7)),
    lambda: body_calendar("ohchr_new_york"),
    lambda: Closure(date(2025, 1, 2), "backwards", "test", until=date(2025, 1, 1)),
    lambda: Closure(date(2025, 1, 2), "no source", " "),
])
def test_bad_calendars_are_refused(build):
    with pytest.raises(InvalidInput):
        build()


@pytest.mark.parametrize(("amount", "unit", "move"), [
    (0, "working_days", "none"), (-1, "calendar_days", "none"), (True, "calendar_days", "none"),
    (1, "days", "none"), (1, "calendar_days", "previous"),
])
def test_bad_periods_are_refused(amount, unit, move):
    with pytest.raises(InvalidInput):
        count(date(2025, 1, 1), amount, unit, FRANCE, move_off_non_working=move)


def test_an_iso_3166_2_subdivision_is_the_librarys_subdivision():
    """The institutions directory keeps ISO 3166-2 codes (DE-BE); the library names Berlin BE. Berlin keeps
    International Women's Day (8 March) as a public holiday since 2019; Bavaria does not."""
    berlin = state_calendar("DE", "DE-BE", time_zone="Europe/Berlin")
    assert berlin.subdivision == "BE" and berlin == state_calendar("DE", "BE", time_zone="Europe/Berlin")
    assert not berlin.is_working_day(date(2027, 3, 8))
    assert BAVARIA.is_working_day(date(2027, 3, 8))
    with pytest.raises(InvalidInput):
        state_calendar("DE", "FR-BE", time_zone="Europe/Berlin")


def test_a_region_without_holidays_of_its_own_counts_with_the_national_ones_and_says_check():
    """The directory may hold any ISO 3166-2 code; the library lists only subdivisions with holidays of
    their own. Grand Est (FR-GES) contains Alsace and Moselle, where Good Friday and 26 December are
    public holidays (Code du travail, art. L3134-13), and departments where they are not: counted with
    France's national holidays, every result says check. Alsace itself (FR-6AE) is the library's 6AE."""
    grand_est = state_calendar("FR", "FR-GES", time_zone="Europe/Paris")
    alsace = state_calendar("FR", "FR-6AE", time_zone="Europe/Paris")
    assert grand_est.subdivision is None and alsace.subdivision == "6AE"
    # Sat 26 Dec 2026 would not tell; Fri 26 Dec 2025 does.
    assert date(2025, 12, 26).weekday() == 4
    assert grand_est.is_working_day(date(2025, 12, 26)) and not alsace.is_working_day(date(2025, 12, 26))
    assert not grand_est.is_working_day(date(2025, 12, 25))
    coverage = grand_est.coverage(date(2025, 12, 1), date(2025, 12, 31))
    assert [w for w in coverage.warnings if "FR-GES" in w and w.endswith("check any regional holiday")]
    assert not [w for w in alsace.coverage(date(2025, 12, 1), date(2025, 12, 31)).warnings if "regional" in w]
    # Not an ISO 3166-2 code of France: refused, as before.
    with pytest.raises(InvalidInput):
        state_calendar("FR", "FR-XYZ", time_zone="Europe/Paris")
