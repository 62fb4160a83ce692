"""Deadlines as their owners announce them, counted like the law counts them, and the reminders they
call for. Pure functions: explicit values and ``now`` in, new state out.

Counting is never done here: a deadline sent with its counting rule is counted by
``comitas_shared.calendars`` (``count``, ``apply_pauses``, ``extend``), the one module every service
counts with (ADR 0012). A deadline sent with only its last day keeps the day its owner computed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from comitas_shared import calendars
from comitas_shared.errors import InvalidInput


class DeadlineState(StrEnum):
    """What is stored: the owner's word."""

    OPEN = "open"
    MET = "met"
    WITHDRAWN = "withdrawn"


class Standing(StrEnum):
    """What a reader sees: the stored state and the business clock together."""

    UPCOMING = "upcoming"  # open, before its last day
    DUE = "due"  # open, on its last day
    OVERDUE = "overdue"  # open, its last day has ended
    PAUSED = "paused"  # open, its clock stopped: no last day until it restarts
    MET = "met"
    WITHDRAWN = "withdrawn"


class StateFilter(StrEnum):
    """``GET /v1/deadlines?state=``: a standing, or ``open`` (any of the first four)."""

    OPEN = "open"
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    WITHDRAWN = "withdrawn"


ON_THE_DAY = "day"
OVERDUE = "overdue"
Unit = Literal["calendar_days", "working_days", "weeks", "months"]
Move = Literal["none", "next"]


# --- what an owner says ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosureSpec:
    day: date
    name: str
    source: str
    until: date | None = None


@dataclass(frozen=True)
class CalendarSpec:
    country: str | None = None
    subdivision: str | None = None
    body: str | None = None
    time_zone: str | None = None
    categories: tuple[str, ...] = ("public",)
    closures: tuple[ClosureSpec, ...] = ()


@dataclass(frozen=True)
class CapSpec:
    amount: int
    unit: Unit
    provision: str


@dataclass(frozen=True)
class Counting:
    start: date
    amount: int
    unit: Unit
    calendar: CalendarSpec
    from_day_after: bool = True
    move_off_non_working: Move = "none"
    extension_cap: CapSpec | None = None


@dataclass(frozen=True)
class DeadlineFacts:
    """A deadline as its owner last described it. ``last_day``/``time_zone``/``due_at``/``calendar`` are
    the owner's own count; with ``counting`` they are counted again here and the count wins."""

    kind: str
    title: str
    case_ref: str
    case_kind: str
    mechanism: str | None
    last_day: date
    time_zone: str
    due_at: datetime
    calendar: str
    hard: bool
    rule: Mapping[str, Any]
    concerns: tuple[str, ...] = ()
    counting: Counting | None = None
    holidays_version: str | None = None
    calendar_data_version: str | None = None


@dataclass(frozen=True)
class PauseFact:
    """What an owner said about the clock: it stopped (``pause``) or restarted (``resume``) on ``on``.
    Facts are kept as they arrive and the pauses derived from them in date order, so the answer is the
    same whatever order they arrive in (several workers and replicas share the consumer)."""

    kind: Literal["pause", "resume"]
    on: date
    reason: str = ""


@dataclass(frozen=True)
class PauseRecord:
    paused_on: date
    resumed_on: date | None
    reason: str


@dataclass(frozen=True)
class ExtensionRecord:
    event_id: str
    amount: int
    unit: Unit
    reason: str
    cap: CapSpec | None
    at: datetime | None = None


def pause_intervals(facts: Iterable[PauseFact]) -> tuple[PauseRecord, ...]:
    """The pauses the facts describe, in date order: a pause while running stops the clock, a resume after
    it restarts it; a pause while paused, or a resume while running (or on the day it stopped), says
    nothing new."""
    ordered = sorted(set(facts), key=lambda f: (f.on, 0 if f.kind == "pause" else 1))
    intervals: list[PauseRecord] = []
    current: PauseFact | None = None
    for fact in ordered:
        if fact.kind == "pause" and current is None:
            current = fact
        elif fact.kind == "resume" and current is not None and fact.on > current.on:
            intervals.append(PauseRecord(current.on, fact.on, current.reason))
            current = None
    if current is not None:
        intervals.append(PauseRecord(current.on, None, current.reason))
    return tuple(intervals)


def ordered_extensions(extensions: Iterable[ExtensionRecord]) -> tuple[ExtensionRecord, ...]:
    """In the order their owner granted them (event time, then id), each once."""
    unique = {e.event_id: e for e in extensions}
    floor = datetime.min.replace(tzinfo=UTC)
    return tuple(sorted(unique.values(), key=lambda e: (e.at or floor, e.event_id)))


# --- what is watched ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Where the deadline ends and why: what the reminders and readers go by."""

    last_day: date
    time_zone: str
    due_at: datetime
    calendar: str
    holidays_version: str | None
    calendar_data_version: str | None
    complete: bool | None
    paused_since: date | None
    explanation: tuple[str, ...] = ()
    # Extensions (event ids) refused: granted in this order, they would pass the rule's cap.
    refused: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeadlineRecord:
    facts: DeadlineFacts
    timing: Timing
    state: DeadlineState
    closed_reason: str | None
    revision: int
    last_event_at: datetime
    pause_facts: tuple[PauseFact, ...] = ()
    extensions: tuple[ExtensionRecord, ...] = field(default=())

    @property
    def pauses(self) -> tuple[PauseRecord, ...]:
        return pause_intervals(self.pause_facts)

    @property
    def timers_key(self) -> tuple[bool, datetime, bool]:
        """What the timers depend on: when it changes, they must be set again (a closed deadline has
        none, however it closed)."""
        return self.state is DeadlineState.OPEN, self.timing.due_at, self.timing.paused_since is not None


def parties(owner: str, concerns: Sequence[str] | None) -> tuple[str, ...]:
    """The institutions a deadline is watched for: those that must act, or else its owner."""
    chosen = tuple(dict.fromkeys(c for c in (concerns or ()) if c))
    return chosen or (owner,)


def _calendar(spec: CalendarSpec) -> calendars.Calendar:
    closures = [calendars.Closure(day=c.day, name=c.name, source=c.source, until=c.until) for c in spec.closures]
    if spec.body is not None:
        if spec.country is not None:
            raise InvalidInput("a calendar is a State (country) or an international body, not both")
        return calendars.body_calendar(spec.body, closures=closures)
    if spec.country is None:
        raise InvalidInput("a calendar needs a country or a body")
    if spec.time_zone is None:
        raise InvalidInput("a State's calendar needs the time zone the law counts in")
    return calendars.state_calendar(spec.country, spec.subdivision, time_zone=spec.time_zone,
                                    categories=spec.categories, closures=closures)


def _cap(spec: CapSpec | None) -> calendars.Cap | None:
    return calendars.Cap(spec.amount, spec.unit, spec.provision) if spec else None


def count_timing(facts: DeadlineFacts, pauses: Sequence[PauseRecord],
                 extensions: Sequence[ExtensionRecord]) -> Timing:
    """The deadline's timing. With a counting rule: counted by ``comitas_shared.calendars`` with the
    closed pauses, then each extension in the order granted (one that would pass the cap is refused and
    said so); an open pause reached before the last day means ``paused_since`` (the last day shown is
    where it would end were the clock restarted at once). Without one: the owner's own count, quiet
    while a pause is open."""
    open_pause = next((p for p in pauses if p.resumed_on is None), None)
    if facts.counting is None:
        notes = tuple(f"Paused since {p.paused_on.isoformat()}: {p.reason}" for p in pauses if p.resumed_on is None)
        if zone(facts.time_zone).key != facts.time_zone:
            notes += (f"{facts.time_zone!r} is not an IANA time zone: its days are taken in UTC.",)
        return Timing(last_day=facts.last_day, time_zone=facts.time_zone, due_at=facts.due_at.astimezone(UTC),
                      calendar=facts.calendar, holidays_version=facts.holidays_version,
                      calendar_data_version=facts.calendar_data_version, complete=None,
                      paused_since=open_pause.paused_on if open_pause else None,
                      explanation=(f"Last day {facts.last_day.isoformat()} as its owner counted it "
                                   f"({facts.calendar}).", *notes))
    rule = facts.counting
    calendar = _calendar(rule.calendar)
    closed = [(p.paused_on, p.resumed_on) for p in pauses if p.resumed_on is not None]
    result = calendars.apply_pauses(rule.start, rule.amount, rule.unit, calendar, closed,
                                    from_day_after=rule.from_day_after,
                                    move_off_non_working=rule.move_off_non_working)
    assert isinstance(result, calendars.CountedDeadline)  # closed pauses only: never suspended
    refused: list[str] = []
    refusals: list[str] = []
    for extension in ordered_extensions(extensions):
        try:
            result = calendars.extend(result, extension.amount, extension.unit, calendar, extension.reason,
                                      _cap(extension.cap or rule.extension_cap))
        except calendars.ExtensionRefused as exc:
            refused.append(extension.event_id)
            refusals.append(f"Extension by {extension.amount} {extension.unit.replace('_', ' ')} refused: "
                            f"{exc.detail}.")
    explanation = [*result.explain(), *refusals]
    paused_since = None
    if open_pause is not None:
        suspended = calendars.apply_pauses(rule.start, rule.amount, rule.unit, calendar,
                                           [*closed, (open_pause.paused_on, None)],
                                           from_day_after=rule.from_day_after,
                                           move_off_non_working=rule.move_off_non_working)
        if isinstance(suspended, calendars.Suspended):
            paused_since = open_pause.paused_on
            explanation = [*suspended.explain(), "Were the clock restarted at once:", *explanation]
    if facts.last_day != result.last_day:
        explanation.append(f"Its owner announced {facts.last_day.isoformat()}; counted here: "
                           f"{result.last_day.isoformat()}.")
    return Timing(last_day=result.last_day, time_zone=result.time_zone, due_at=result.ends_at_utc,
                  calendar=result.calendar, holidays_version=result.holidays_version,
                  calendar_data_version=result.calendar_data_version, complete=result.complete,
                  paused_since=paused_since, explanation=tuple(explanation), refused=tuple(refused))


def _next(current: DeadlineRecord, **changes: Any) -> DeadlineRecord:
    """``current`` changed, recounted, with a new revision if the timers must change."""
    changed = replace(current, **changes)
    changed = replace(changed, timing=count_timing(changed.facts, changed.pauses, changed.extensions))
    if changed.state is not DeadlineState.OPEN:
        changed = replace(changed, timing=replace(changed.timing, paused_since=None))
    bump = 1 if changed.timers_key != current.timers_key else 0
    return replace(changed, revision=current.revision + bump)


def on_requested(current: DeadlineRecord | None, facts: DeadlineFacts, *, event_at: datetime) -> DeadlineRecord | None:
    """The deadline after a ``deadline.requested``; None when the event changes nothing (it is older
    than what was already applied: events of one deadline may arrive out of order after a retry).

    The revision moves only when the timers must change: the deadline is new, moved, reopened, paused
    or restarted. Pauses and extensions already applied are kept: they are facts about the clock.
    """
    if current is not None and event_at < current.last_event_at:
        return None
    facts, note, counted = countable(facts, current.pauses if current else (),
                                     current.extensions if current else ())
    if current is None:
        # A new deadline has no pauses: what ``countable`` counted is its timing.
        timing = counted if counted is not None else count_timing(facts, (), ())
        record = DeadlineRecord(facts, timing, DeadlineState.OPEN, None, 1, event_at)
    else:
        record = _next(current, facts=facts, state=DeadlineState.OPEN, closed_reason=None, last_event_at=event_at)
    if note:
        record = replace(record, timing=replace(record.timing, explanation=(*record.timing.explanation, note)))
    return record


def countable(facts: DeadlineFacts, pauses: Sequence[PauseRecord],
              extensions: Sequence[ExtensionRecord]) -> tuple[DeadlineFacts, str | None, Timing | None]:
    """``facts`` as they can be watched: a counting rule the calendars refuse (an unknown State or body,
    a time zone missing) is dropped, and the owner's own last day is watched instead, with a note. The
    timing counted with ``pauses`` (no extensions) comes back when the rule was counted, else None."""
    if facts.counting is None:
        return facts, None, None
    try:
        timing = count_timing(facts, pauses, ())
    except InvalidInput as exc:
        return replace(facts, counting=None), (f"Its counting rule could not be counted ({exc.detail}); the last day "
                                               "its owner announced is watched."), None
    return facts, None, timing


def on_withdrawn(current: DeadlineRecord | None, reason: str, *, event_at: datetime) -> DeadlineRecord | None:
    """``met`` closes the deadline as met; ``withdrawn``, ``superseded`` (and a party no longer concerned)
    as withdrawn. A deadline never heard of is left alone (None)."""
    if current is None or event_at < current.last_event_at:
        return None
    state = DeadlineState.MET if reason == "met" else DeadlineState.WITHDRAWN
    return _next(current, state=state, closed_reason=reason, last_event_at=event_at)


def on_paused(current: DeadlineRecord | None, paused_on: date, reason: str, *,
              event_at: datetime) -> DeadlineRecord | None:
    """The clock stops from ``paused_on``. Pause and resume facts are kept whatever the deadline's state
    and applied in date order, so their arrival order does not matter; a fact already known changes
    nothing (None)."""
    return _with_fact(current, PauseFact("pause", paused_on, reason))


def on_resumed(current: DeadlineRecord | None, resumed_on: date, *, event_at: datetime) -> DeadlineRecord | None:
    """The clock restarts: ``resumed_on`` is the first day counted again (see :func:`on_paused`)."""
    return _with_fact(current, PauseFact("resume", resumed_on))


def _with_fact(current: DeadlineRecord | None, fact: PauseFact) -> DeadlineRecord | None:
    if current is None or fact in current.pause_facts:
        return None
    return _next(current, pause_facts=(*current.pause_facts, fact))


def on_extended(current: DeadlineRecord | None, extension: ExtensionRecord, *,
                event_at: datetime) -> DeadlineRecord | None:
    """An extension of a counted deadline (``calendars.extend``, from its nominal last day). Extensions are
    applied in the order their owner granted them (``at``), whatever order they arrive in; one that
    would pass the cap is kept as refused. A deadline its owner counted is extended by its owner sending
    it again (``InvalidInput``); an extension already known is not applied twice (None)."""
    if current is None or any(e.event_id == extension.event_id for e in current.extensions):
        return None
    if current.facts.counting is None:
        raise InvalidInput("only a deadline sent with its counting rule can be extended here; its owner sends "
                           "the new last day instead")
    return _next(current, extensions=ordered_extensions((*current.extensions, replace(extension, at=extension.at
                                                                                      or event_at))))


def standing(state: str, *, paused_since: date | None, day_starts_at: datetime, due_at: datetime,
             now: datetime) -> Standing:
    if state == DeadlineState.MET:
        return Standing.MET
    if state == DeadlineState.WITHDRAWN:
        return Standing.WITHDRAWN
    if paused_since is not None:
        return Standing.PAUSED
    if now > due_at:
        return Standing.OVERDUE
    if now >= day_starts_at:
        return Standing.DUE
    return Standing.UPCOMING


def zone(time_zone: str) -> ZoneInfo:
    """The IANA zone, or UTC for a name that is none (an owner's typo must not stop a deadline from being
    watched; its explanation says so)."""
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_starts_at(last_day: date, time_zone: str) -> datetime:
    """The instant (UTC) the last day begins in its time zone."""
    return datetime.combine(last_day, time(0), tzinfo=zone(time_zone)).astimezone(UTC)


# --- reminders ------------------------------------------------------------------------------------

OFFSET = re.compile(r"^([1-9][0-9]{0,3})([dhms])$")
UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
UNIT_WORDS = {"d": "day", "h": "hour", "m": "minute", "s": "second"}
MAX_OFFSETS = 10


@dataclass(frozen=True)
class Offset:
    """``14d``, ``6h``, ``30m``, ``10s`` before the deadline ends; named ``d14``, ``h6``, ``m30``, ``s10``."""

    amount: int
    unit: str

    @property
    def name(self) -> str:
        return f"{self.unit}{self.amount}"

    @property
    def text(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.amount * UNIT_SECONDS[self.unit])


def parse_offset(text: str) -> Offset:
    match = OFFSET.match(text.strip())
    if match is None:
        raise InvalidInput(f"{text!r} is not an offset: a number and d, h, m or s (14d, 6h, 30m, 10s)")
    return Offset(int(match.group(1)), match.group(2))


@dataclass(frozen=True)
class ReminderOffsets:
    """When an institution wants to hear of a kind of deadline: ``before`` its end, ``on_the_day`` (at
    ``on_the_day_at`` local time on the last day) and when it is ``overdue`` (its last day ended)."""

    before: tuple[Offset, ...]
    on_the_day: bool
    overdue: bool

    @property
    def names(self) -> frozenset[str]:
        return frozenset([o.name for o in self.before] + ([ON_THE_DAY] if self.on_the_day else [])
                         + ([OVERDUE] if self.overdue else []))


def reminder_offsets(before: Iterable[str], *, on_the_day: bool, overdue: bool) -> ReminderOffsets:
    parsed = [parse_offset(b) for b in before]
    if len(parsed) > MAX_OFFSETS:
        raise InvalidInput(f"at most {MAX_OFFSETS} reminders before a deadline")
    unique = {o.delta: o for o in parsed}
    ordered = tuple(sorted(unique.values(), key=lambda o: o.delta, reverse=True))
    return ReminderOffsets(ordered, on_the_day, overdue)


def default_offsets(days_before: Iterable[int], *, on_the_day: bool, overdue: bool) -> ReminderOffsets:
    return reminder_offsets([f"{d}d" for d in days_before], on_the_day=on_the_day, overdue=overdue)


@dataclass(frozen=True)
class Reminder:
    name: str
    fire_at: datetime


def reminder_plan(timing: Timing, offsets: ReminderOffsets, *, now: datetime, on_the_day_at: time) -> list[Reminder]:
    """Reminders still ahead of ``now``, soonest last: each offset before ``due_at``, the last day at
    ``on_the_day_at`` local time (if that is before it ends), and ``overdue`` at ``due_at``. A paused
    deadline has none."""
    if timing.paused_since is not None:
        return []
    due_at = timing.due_at
    planned = [Reminder(o.name, due_at - o.delta) for o in offsets.before]
    if offsets.on_the_day:
        morning = datetime.combine(timing.last_day, on_the_day_at, tzinfo=zone(timing.time_zone)).astimezone(UTC)
        if morning < due_at:
            planned.append(Reminder(ON_THE_DAY, morning))
    if offsets.overdue:
        planned.append(Reminder(OVERDUE, due_at))
    return sorted((r for r in planned if r.fire_at > now), key=lambda r: r.fire_at)


def reminder_applies(state: str, *, paused: bool, due_at: datetime, reminder: str, wanted: frozenset[str],
                     reminder_due_at: datetime) -> bool:
    """A fired timer still means something only if the deadline is open, not paused, has not moved since,
    and its institution still wants that reminder."""
    return state == DeadlineState.OPEN and not paused and due_at == reminder_due_at and reminder in wanted


def reminder_title(title: str, reminder: str) -> str:
    if reminder == OVERDUE:
        return f"Deadline passed: {title}"
    if reminder == ON_THE_DAY:
        return f"Last day today: {title}"
    unit, amount = reminder[0], int(reminder[1:])
    word = UNIT_WORDS.get(unit, "day")
    return f"Deadline in {amount} {word}{'s' if amount != 1 else ''}: {title}"


# --- parsing the owner's words -----------------------------------------------------------------------


def counting_from(data: Mapping[str, Any] | None) -> Counting | None:
    """The counting rule as stored (JSON) or as the event carries it, as domain values."""
    if not data:
        return None
    calendar = dict(data["calendar"])
    closures = tuple(ClosureSpec(day=_day(c["day"]), name=str(c["name"]),
                                 source=str(c.get("source") or "the institution's directory entry"),
                                 until=_day(c["until"]) if c.get("until") else None)
                     for c in calendar.get("closures") or ())
    spec = CalendarSpec(country=calendar.get("country"), subdivision=calendar.get("subdivision"),
                        body=calendar.get("body"), time_zone=calendar.get("time_zone"),
                        categories=tuple(calendar.get("categories") or ("public",)), closures=closures)
    cap = data.get("extension_cap")
    return Counting(start=_day(data["start"]), amount=int(data["amount"]), unit=cast(Unit, data["unit"]),
                    calendar=spec, from_day_after=bool(data.get("from_day_after", True)),
                    move_off_non_working=cast(Move, data.get("move_off_non_working", "none")),
                    extension_cap=cap_from(cap))


def counting_to_json(counting: Counting | None) -> dict[str, Any] | None:
    if counting is None:
        return None
    calendar = counting.calendar
    return {
        "start": counting.start.isoformat(), "amount": counting.amount, "unit": counting.unit,
        "calendar": {"country": calendar.country, "subdivision": calendar.subdivision, "body": calendar.body,
                     "time_zone": calendar.time_zone, "categories": list(calendar.categories),
                     "closures": [{"day": c.day.isoformat(), "name": c.name, "source": c.source,
                                   "until": c.until.isoformat() if c.until else None} for c in calendar.closures]},
        "from_day_after": counting.from_day_after, "move_off_non_working": counting.move_off_non_working,
        "extension_cap": cap_to_json(counting.extension_cap),
    }


def cap_to_json(cap: CapSpec | None) -> dict[str, Any] | None:
    return {"amount": cap.amount, "unit": cap.unit, "provision": cap.provision} if cap else None


def cap_from(data: Mapping[str, Any] | None) -> CapSpec | None:
    if not data:
        return None
    return CapSpec(int(data["amount"]), cast(Unit, data["unit"]), str(data["provision"]))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def pause_facts_to_json(facts: Iterable[PauseFact]) -> list[dict[str, Any]]:
    return [{"kind": f.kind, "on": f.on.isoformat(), "reason": f.reason} for f in facts]


def pause_facts_from_json(data: Iterable[Mapping[str, Any]] | None) -> tuple[PauseFact, ...]:
    return tuple(PauseFact("resume" if f.get("kind") == "resume" else "pause", _day(f["on"]), str(f.get("reason") or ""))
                 for f in data or ())


def extensions_to_json(extensions: Iterable[ExtensionRecord], refused: Iterable[str] = ()) -> list[dict[str, Any]]:
    refused_ids = set(refused)
    return [{"event_id": e.event_id, "at": e.at.isoformat() if e.at else None, "amount": e.amount, "unit": e.unit,
             "reason": e.reason, "cap": cap_to_json(e.cap), "refused": e.event_id in refused_ids}
            for e in extensions]


def extensions_from_json(data: Iterable[Mapping[str, Any]] | None) -> tuple[ExtensionRecord, ...]:
    return tuple(ExtensionRecord(str(e["event_id"]), int(e["amount"]), cast(Unit, e["unit"]), str(e["reason"]),
                                 cap_from(e.get("cap")), datetime.fromisoformat(e["at"]) if e.get("at") else None)
                 for e in data or ())
