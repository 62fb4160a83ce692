"""Deadlines' pure parts: counting like the law (through comitas_shared.calendars), pauses, extensions,
the state machine, reminders and their offsets, and the iCalendar document."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest

from comitas_notifications.calendar_feed.access_log import RedactFeedTokens, redact
from comitas_notifications.calendar_feed.domain import FeedEntry, calendar_document, rule_text, token_hash
from comitas_notifications.deadlines.domain import (
    CalendarSpec,
    CapSpec,
    Counting,
    DeadlineFacts,
    DeadlineState,
    ExtensionRecord,
    Standing,
    day_starts_at,
    default_offsets,
    on_extended,
    on_paused,
    on_requested,
    on_resumed,
    on_withdrawn,
    parse_offset,
    parties,
    reminder_applies,
    reminder_offsets,
    reminder_plan,
    reminder_title,
    standing,
)
from comitas_shared.calendars import HOLIDAYS_VERSION
from comitas_shared.errors import InvalidInput

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PARIS = CalendarSpec(country="FR", time_zone="Europe/Paris")
# Friday 29 October 2027, the Friday before All Saints' Day (Monday 1 November, a French public holiday).
FRIDAY_BEFORE_ALL_SAINTS = date(2027, 10, 29)


def facts(due_at: datetime, title: str = "File with the ECtHR", *, counting: Counting | None = None,
          concerns: tuple[str, ...] = ()) -> DeadlineFacts:
    return DeadlineFacts(kind="filing", title=title, case_ref="C-1", case_kind="complaint", mechanism="ecthr",
                         last_day=due_at.date(), time_zone="Europe/Strasbourg", due_at=due_at,
                         calendar="calendar days", hard=True, rule={"provision": "Art 35(1)"}, concerns=concerns,
                         counting=counting)


def counted(amount: int, unit: str, *, start: date = FRIDAY_BEFORE_ALL_SAINTS, cap: CapSpec | None = None,
            calendar: CalendarSpec = PARIS) -> DeadlineFacts:
    # The owner's own (naive, weekend-only) count is deliberately wrong: notifications counts itself.
    naive = datetime(2027, 11, 12, 22, 59, 59, 999000, tzinfo=UTC)
    return facts(naive, counting=Counting(start=start, amount=amount, unit=unit, calendar=calendar,  # type: ignore[arg-type]
                                          extension_cap=cap))


# --- counting like the law ----------------------------------------------------------------------------


def test_ten_working_days_from_the_friday_before_a_public_holiday():
    record = on_requested(None, counted(10, "working_days"), event_at=NOW)
    timing = record.timing
    # Mon 1 Nov (All Saints' Day) and Thu 11 Nov (Armistice Day) are not counted, nor the weekends.
    assert timing.last_day == date(2027, 11, 16)
    assert timing.time_zone == "Europe/Paris"
    assert timing.due_at == datetime(2027, 11, 16, 22, 59, 59, 999000, tzinfo=UTC)  # 23:59:59.999 in Paris (CET)
    assert timing.holidays_version == HOLIDAYS_VERSION and timing.complete is True
    assert "FR public holidays" in timing.calendar
    explained = " ".join(timing.explanation)
    assert "All Saints' Day" in explained and "Armistice Day" in explained
    assert "Its owner announced 2027-11-12; counted here: 2027-11-16." in timing.explanation


def test_the_same_in_calendar_days_ends_ten_days_later_whatever_the_holidays():
    timing = on_requested(None, counted(10, "calendar_days"), event_at=NOW).timing
    assert timing.last_day == date(2027, 11, 8)


def test_a_five_day_pause_moves_the_last_day_by_five():
    start = on_requested(None, counted(10, "calendar_days"), event_at=NOW)
    paused = on_paused(start, date(2027, 11, 2), "clarification requested", event_at=NOW + timedelta(seconds=1))
    assert paused.timing.paused_since == date(2027, 11, 2)
    assert paused.revision == start.revision + 1  # the timers go while the clock is stopped
    assert paused.timing.last_day == date(2027, 11, 8)  # where it would end were the clock restarted at once
    resumed = on_resumed(paused, date(2027, 11, 7), event_at=NOW + timedelta(seconds=2))
    assert resumed.timing.paused_since is None
    assert resumed.timing.last_day == date(2027, 11, 13) == start.timing.last_day + timedelta(days=5)
    assert resumed.revision == paused.revision + 1
    assert [(p.paused_on, p.resumed_on) for p in resumed.pauses] == [(date(2027, 11, 2), date(2027, 11, 7))]


def test_a_pause_after_the_last_day_changes_nothing_and_facts_apply_in_date_order():
    start = on_requested(None, counted(10, "calendar_days"), event_at=NOW)
    late = on_paused(start, date(2027, 12, 1), "too late", event_at=NOW)
    assert late.timing.paused_since is None and late.timing.last_day == start.timing.last_day
    assert on_paused(late, date(2027, 12, 1), "too late", event_at=NOW) is None  # the same fact twice
    # A resume that arrives before its pause (two workers, two replicas) still closes it.
    resumed_first = on_resumed(start, date(2027, 11, 7), event_at=NOW)
    assert resumed_first.pauses == () and resumed_first.timing.last_day == start.timing.last_day
    then_paused = on_paused(resumed_first, date(2027, 11, 2), "clarification", event_at=NOW)
    assert then_paused.timing.last_day == date(2027, 11, 13) and then_paused.timing.paused_since is None
    assert [(p.paused_on, p.resumed_on) for p in then_paused.pauses] == [(date(2027, 11, 2), date(2027, 11, 7))]
    # A second pause while paused says nothing new; a resume on the day it stopped neither.
    twice = on_paused(on_paused(start, date(2027, 11, 2), "a", event_at=NOW), date(2027, 11, 4), "b", event_at=NOW)
    assert [(p.paused_on, p.resumed_on) for p in twice.pauses] == [(date(2027, 11, 2), None)]
    same_day = on_resumed(twice, date(2027, 11, 2), event_at=NOW)
    assert same_day.timing.paused_since == date(2027, 11, 2)


def test_a_deadline_counted_by_its_owner_pauses_quietly_and_keeps_its_day():
    due = datetime(2027, 3, 1, 22, 59, 59, 999000, tzinfo=UTC)
    start = on_requested(None, facts(due), event_at=NOW)
    paused = on_paused(start, date(2027, 2, 1), "clarification", event_at=NOW)
    assert paused.timing.paused_since == date(2027, 2, 1) and paused.timing.last_day == due.date()
    resumed = on_resumed(paused, date(2027, 2, 6), event_at=NOW)
    assert resumed.timing.paused_since is None and resumed.timing.last_day == due.date()
    with pytest.raises(InvalidInput):
        on_extended(resumed, ExtensionRecord("e1", 5, "calendar_days", "reason", None), event_at=NOW)


def test_extensions_run_from_the_nominal_last_day_within_the_cap_and_once_each():
    cap = CapSpec(30, "calendar_days", "EIO Directive Art 12(5)")
    start = on_requested(None, counted(10, "calendar_days", cap=cap), event_at=NOW)
    extension = ExtensionRecord("ev-1", 20, "calendar_days", "execution needs a hearing", None)
    extended = on_extended(start, extension, event_at=NOW)
    assert extended.timing.last_day == date(2027, 11, 28)
    assert extended.revision == start.revision + 1
    assert on_extended(extended, extension, event_at=NOW) is None  # the same event twice: once
    beyond = on_extended(extended, ExtensionRecord("ev-2", 11, "calendar_days", "more", None),
                         event_at=NOW + timedelta(seconds=1))
    assert beyond.timing.last_day == date(2027, 11, 28) and beyond.timing.refused == ("ev-2",)
    assert beyond.revision == extended.revision  # nothing moved
    assert any("refused" in line and "EIO Directive Art 12(5)" in line for line in beyond.timing.explanation)


def test_extensions_apply_in_the_order_granted_whatever_order_they_arrive_in():
    cap = CapSpec(30, "calendar_days", "EIO Directive Art 12(5)")
    start = on_requested(None, counted(10, "calendar_days", cap=cap), event_at=NOW)
    first = ExtensionRecord("ev-1", 20, "calendar_days", "first", None, at=NOW)
    second = ExtensionRecord("ev-2", 11, "calendar_days", "second", None, at=NOW + timedelta(minutes=1))
    in_order = on_extended(on_extended(start, first, event_at=NOW), second, event_at=NOW)
    reversed_ = on_extended(on_extended(start, second, event_at=NOW), first, event_at=NOW)
    assert in_order.timing.last_day == reversed_.timing.last_day == date(2027, 11, 28)
    assert in_order.timing.refused == reversed_.timing.refused == ("ev-2",)


def test_an_uncountable_rule_falls_back_to_the_owners_day_with_a_note():
    record = on_requested(None, counted(10, "working_days", calendar=CalendarSpec(country="XX", time_zone="UTC")),
                          event_at=NOW)
    assert record.facts.counting is None and record.timing.last_day == date(2027, 11, 12)
    assert "could not be counted" in record.timing.explanation[-1]


def test_a_body_calendar_counts_in_the_bodys_zone():
    timing = on_requested(None, counted(10, "working_days", calendar=CalendarSpec(body="coe_strasbourg")),
                          event_at=NOW).timing
    assert timing.time_zone == "Europe/Paris" and timing.calendar_data_version is not None


# --- the state machine ------------------------------------------------------------------------------


def test_a_new_deadline_is_open_at_revision_one_and_watched_for_those_who_must_act():
    status = on_requested(None, facts(NOW + timedelta(days=40)), event_at=NOW)
    assert status is not None and status.state is DeadlineState.OPEN and status.revision == 1
    assert parties("owner", None) == ("owner",)
    assert parties("owner", ["a", "b", "a", ""]) == ("a", "b")


def test_a_moved_deadline_gets_a_new_revision_and_a_retitled_one_does_not():
    first = on_requested(None, facts(NOW + timedelta(days=40)), event_at=NOW)
    retitled = on_requested(first, facts(NOW + timedelta(days=40), "Renamed"), event_at=NOW + timedelta(seconds=1))
    assert retitled.revision == 1 and retitled.facts.title == "Renamed"
    moved = on_requested(retitled, facts(NOW + timedelta(days=50)), event_at=NOW + timedelta(seconds=2))
    assert moved.revision == 2


def test_an_older_event_than_the_last_applied_changes_nothing():
    current = on_requested(None, facts(NOW + timedelta(days=40)), event_at=NOW)
    assert on_requested(current, facts(NOW + timedelta(days=1)), event_at=NOW - timedelta(seconds=1)) is None
    assert on_withdrawn(current, "met", event_at=NOW - timedelta(seconds=1)) is None


def test_withdrawal_closes_and_a_later_request_reopens():
    current = on_requested(None, facts(NOW + timedelta(days=40)), event_at=NOW)
    met = on_withdrawn(current, "met", event_at=NOW + timedelta(seconds=1))
    assert met.state is DeadlineState.MET and met.revision == 2
    superseded = on_withdrawn(current, "superseded", event_at=NOW + timedelta(seconds=1))
    assert superseded.state is DeadlineState.WITHDRAWN
    again = on_withdrawn(met, "withdrawn", event_at=NOW + timedelta(seconds=2))
    assert again.revision == 2  # already closed: no timers to change
    reopened = on_requested(met, facts(NOW + timedelta(days=40)), event_at=NOW + timedelta(seconds=3))
    assert reopened.state is DeadlineState.OPEN and reopened.revision == 3
    assert on_withdrawn(None, "met", event_at=NOW) is None
    # A pause of a closed deadline is kept (it counts if the deadline is reopened) but sets no timers.
    paused_closed = on_paused(met, date(2026, 12, 1), "x", event_at=NOW)
    assert paused_closed.state is DeadlineState.MET and paused_closed.revision == met.revision


def test_standing_comes_from_the_state_and_the_clock():
    due = datetime(2026, 12, 10, 22, 59, 59, 999000, tzinfo=UTC)
    starts = day_starts_at(date(2026, 12, 10), "Europe/Paris")
    assert starts == datetime(2026, 12, 9, 23, 0, tzinfo=UTC)
    def at(now: datetime, state: str = "open", paused: date | None = None) -> Standing:
        return standing(state, paused_since=paused, day_starts_at=starts, due_at=due, now=now)
    assert at(starts - timedelta(seconds=1)) is Standing.UPCOMING
    assert at(starts) is Standing.DUE and at(due) is Standing.DUE
    assert at(due + timedelta(milliseconds=1)) is Standing.OVERDUE
    assert at(due, paused=date(2026, 12, 1)) is Standing.PAUSED
    assert at(due, "met") is Standing.MET and at(due, "withdrawn") is Standing.WITHDRAWN


# --- reminders ------------------------------------------------------------------------------------


def test_default_reminders_are_14_3_1_days_before_on_the_day_and_overdue():
    timing = on_requested(None, counted(10, "working_days"), event_at=NOW).timing
    offsets = default_offsets((14, 3, 1), on_the_day=True, overdue=True)
    plan = reminder_plan(timing, offsets, now=NOW, on_the_day_at=time(9, 0))
    due = timing.due_at
    assert [(r.name, r.fire_at) for r in plan] == [
        ("d14", due - timedelta(days=14)), ("d3", due - timedelta(days=3)), ("d1", due - timedelta(days=1)),
        ("day", datetime(2027, 11, 16, 8, 0, tzinfo=UTC)),  # 09:00 in Paris on the last day
        ("overdue", due)]
    assert offsets.names == {"d14", "d3", "d1", "day", "overdue"}


def test_reminders_already_past_and_those_of_a_paused_deadline_are_not_planned():
    start = on_requested(None, counted(10, "calendar_days"), event_at=NOW)
    offsets = default_offsets((14, 3, 1), on_the_day=True, overdue=True)
    late = reminder_plan(start.timing, offsets, now=start.timing.due_at - timedelta(days=2), on_the_day_at=time(9))
    assert [r.name for r in late] == ["d1", "day", "overdue"]
    paused = on_paused(start, date(2027, 11, 2), "clarification", event_at=NOW)
    assert reminder_plan(paused.timing, offsets, now=NOW, on_the_day_at=time(9)) == []


def test_offsets_are_parsed_named_deduplicated_and_bounded():
    assert parse_offset("14d").name == "d14" and parse_offset("30s").delta == timedelta(seconds=30)
    offsets = reminder_offsets(["2s", "6h", "1d", "24h"], on_the_day=False, overdue=True)
    assert [o.name for o in offsets.before] == ["h24", "h6", "s2"]  # 1d and 24h are one reminder
    for bad in ["14", "d14", "0d", "-1d", "3w", "1.5d"]:
        with pytest.raises(InvalidInput):
            parse_offset(bad)
    with pytest.raises(InvalidInput):
        reminder_offsets([f"{n}d" for n in range(1, 13)], on_the_day=False, overdue=False)


def test_a_fired_reminder_applies_only_to_an_open_unpaused_unmoved_deadline_that_still_wants_it():
    due = NOW + timedelta(days=1)
    wanted = frozenset({"d1", "overdue"})
    def applies(state: str = "open", paused: bool = False, at: datetime = due, name: str = "d1") -> bool:
        return reminder_applies(state, paused=paused, due_at=at, reminder=name, wanted=wanted, reminder_due_at=due)
    assert applies()
    assert not applies(at=due + timedelta(days=1))
    assert not applies(state="met") and not applies(state="withdrawn")
    assert not applies(paused=True)
    assert not applies(name="d3")  # the institution no longer wants it


def test_reminder_titles():
    assert reminder_title("File", "overdue") == "Deadline passed: File"
    assert reminder_title("File", "day") == "Last day today: File"
    assert reminder_title("File", "d1") == "Deadline in 1 day: File"
    assert reminder_title("File", "d14") == "Deadline in 14 days: File"
    assert reminder_title("File", "s5") == "Deadline in 5 seconds: File"


# --- the calendar feed ----------------------------------------------------------------------------


def test_the_calendar_document_parses_and_carries_case_and_rule():
    entry = FeedEntry(deadline_id="d-1", title="Application to the ECtHR", case_ref="CMP-2027-0042", kind="filing",
                      mechanism="ecthr", hard=True, last_day=date(2027, 11, 16), time_zone="Europe/Paris",
                      due_at=datetime(2027, 11, 16, 22, 59, 59, 999000, tzinfo=UTC), calendar="FR public holidays",
                      rule={"provision": "ECHR Art 35(1)", "source": "ECHR", "status": "confirmed"},
                      standing="upcoming", explanation=["10 working days …"], updated_at=NOW)
    parsed = icalendar.Calendar.from_ical(calendar_document([entry], name="Comitas deadlines", now=NOW))
    [event] = parsed.walk("VEVENT")
    assert event["UID"] == "d-1@comitas"
    assert event.decoded("DTSTART") == date(2027, 11, 16)
    assert "CMP-2027-0042" in event["SUMMARY"] and "CMP-2027-0042" in event["DESCRIPTION"]
    assert "ECHR Art 35(1) (ECHR; confirmed)" in event["DESCRIPTION"]
    assert event["X-COMITAS-RULE"] == "ECHR Art 35(1) (ECHR; confirmed)"
    assert rule_text({}) == "not given"


def test_the_feed_token_is_kept_as_a_hash_and_redacted_from_access_log_lines():
    assert token_hash("cal_x") != "cal_x" and len(token_hash("cal_x")) == 64
    line = '127.0.0.1:5000 - "GET /v1/calendar-feeds/cal_Abc-_123.ics?x=1 HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1:5000 - "GET /v1/calendar-feeds/[redacted].ics?x=1 HTTP/1.1" 200'
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/v1/calendar-feeds/cal_secret.ics", "1.1", 200), None)
    assert RedactFeedTokens().filter(record) and "cal_secret" not in record.getMessage()
