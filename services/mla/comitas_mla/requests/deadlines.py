"""The time limits of a request, counted in the requested state's calendar and time zone.

Pure: a legal basis's time limits, the day they start (receipt, or the recognition decision), the
requested state's calendar (public holidays from the shared calendars, ``comitas_shared.calendars``)
in, planned deadlines out. Each keeps what its count needs (start, length, unit, how a last day moves,
pauses while postponed, extensions), so moving it means counting again from the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from comitas_shared.calendars import (
    HOLIDAYS_VERSION,
    Calendar,
    Cap,
    CountedDeadline,
    apply_pauses,
    directory_closures,
    end_of_day_utc,
    extend,
    state_calendar,
)
from comitas_shared.calendars import Unit as CalendarUnit
from comitas_shared.errors import InvalidInput

from ..legal_bases.schemas import BasisRules, TimeLimit

MAX_CALENDAR_TEXT = 500


@dataclass(frozen=True)
class Place:
    """Where the requested state counts: its ISO code, its zone (with a warning when the zone is a
    guess), and, where the directory gives them, the central authority's subdivision and closures."""

    state: str
    time_zone: str
    zone_note: str | None = None
    subdivision: str | None = None
    closures: tuple[dict[str, Any], ...] = ()

    def calendar(self) -> Calendar | None:
        """The state's calendar, or ``None`` where the holidays library has none for it."""
        closures = directory_closures(self.closures, default_source="institutions directory")
        try:
            return state_calendar(self.state, self.subdivision, time_zone=self.time_zone, closures=closures,
                                  name=f"{self.state} central authority")
        except InvalidInput:
            return None


@dataclass(frozen=True)
class Counting:
    start: date
    amount: int
    unit: CalendarUnit
    from_day_after: bool
    moves: bool
    pauses: tuple[tuple[date, date | None], ...] = ()
    extensions: tuple[tuple[int, CalendarUnit, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "amount": self.amount, "unit": self.unit,
                "holidays_version": HOLIDAYS_VERSION,
                "from_day_after": self.from_day_after, "moves": self.moves,
                "pauses": [[p.isoformat(), r.isoformat() if r else None] for p, r in self.pauses],
                "extensions": [[a, u, reason] for a, u, reason in self.extensions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counting:
        return cls(start=date.fromisoformat(data["start"]), amount=int(data["amount"]), unit=data["unit"],
                   from_day_after=bool(data["from_day_after"]), moves=bool(data["moves"]),
                   pauses=tuple((date.fromisoformat(p), date.fromisoformat(r) if r else None)
                                for p, r in data.get("pauses", [])),
                   extensions=tuple((int(a), u, str(reason)) for a, u, reason in data.get("extensions", [])))


@dataclass(frozen=True)
class Planned:
    limit_id: str
    title: str
    kind: str
    last_day: date | None
    time_zone: str
    calendar: str
    hard: bool
    rule: dict[str, Any]
    explanation: tuple[str, ...]
    counting: Counting | None = None
    # A count whose clock is stopped (an open pause) has no last day yet.
    suspended: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def due_at_utc(self) -> Any:
        assert self.last_day is not None
        return end_of_day_utc(self.last_day, self.time_zone)


def _rule(limit: TimeLimit, rules: BasisRules) -> dict[str, Any]:
    rule: dict[str, Any] = {"basis": rules.code, "provision": limit.provision, "source": limit.source,
                            "status": limit.status.value}
    if limit.note:
        rule["note"] = limit.note
    if limit.counting is not None:
        rule["counting"] = {"provision": limit.counting.provision, "status": limit.counting.status.value,
                            "note": limit.counting.note}
    return rule


def count(limit: TimeLimit, rules: BasisRules, counting: Counting, place: Place) -> Planned:
    """Count (or count again) a fixed limit from its stored counting."""
    calendar = place.calendar()
    notes = [place.zone_note] if place.zone_note else []
    if calendar is None:
        return _count_without_holidays(limit, rules, counting, place, notes)
    result = apply_pauses(counting.start, counting.amount, counting.unit, calendar, list(counting.pauses),
                          from_day_after=counting.from_day_after, move_off_non_working="next" if counting.moves else "none")
    if not isinstance(result, CountedDeadline):
        return Planned(limit_id=limit.id, title=limit.title, kind="fixed", last_day=None, time_zone=place.time_zone,
                       calendar=_trim(result.calendar), hard=limit.hard, rule=_rule(limit, rules),
                       explanation=tuple(result.explain() + notes), counting=counting, suspended=True)
    cap = Cap(limit.extension.max_amount, limit.extension.unit, limit.extension.provision) if limit.extension else None
    for amount, unit, reason in counting.extensions:
        result = extend(result, amount, unit, calendar, reason, cap)
    return Planned(limit_id=limit.id, title=limit.title, kind="fixed", last_day=result.last_day,
                   time_zone=place.time_zone, calendar=_calendar_text(limit, counting, result.calendar),
                   hard=limit.hard, rule=_rule(limit, rules), explanation=tuple(result.explain() + notes),
                   counting=counting)


def _count_without_holidays(limit: TimeLimit, rules: BasisRules, counting: Counting, place: Place,
                            notes: list[str]) -> Planned:
    days = {"calendar_days": 1, "weeks": 7}.get(counting.unit)
    if days is None:
        raise InvalidInput(f"no calendar for {place.state}: cannot count {counting.unit.replace('_', ' ')}")
    anchor = counting.start if counting.from_day_after else counting.start - timedelta(days=1)
    paused = sum(((r or anchor) - p).days for p, r in counting.pauses if r is not None and p > anchor)
    last = anchor + timedelta(days=counting.amount * days + paused + sum(a for a, _, _ in counting.extensions))
    note = (f"The holidays library has no calendar for {place.state}: weekends and public holidays were not "
            "considered: unknown: check.")
    return Planned(limit_id=limit.id, title=limit.title, kind="fixed", last_day=last, time_zone=place.time_zone,
                   calendar=_trim(f"{place.state} (no holiday calendar: unknown: check); {place.time_zone}"),
                   hard=limit.hard, rule=_rule(limit, rules), explanation=(note, *notes), counting=counting)


def _calendar_text(limit: TimeLimit, counting: Counting, description: str) -> str:
    moves = "a last day on a non-working day moves to the next working day" if counting.moves else \
        "a last day on a non-working day does not move"
    start = "from the day after" if counting.from_day_after else "counting"
    return _trim(f"{counting.amount} {counting.unit.replace('_', ' ')} {start} {counting.start.isoformat()}; "
                 f"{moves} ({limit.counting.provision if limit.counting else limit.provision}); {description}")


def _trim(text: str) -> str:
    return text if len(text) <= MAX_CALENDAR_TEXT else text[: MAX_CALENDAR_TEXT - 1] + "…"


def start_counting(limit: TimeLimit, start: date) -> Counting:
    assert limit.length is not None and limit.unit is not None and limit.counting is not None
    return Counting(start=start, amount=limit.length, unit=limit.unit, from_day_after=limit.counting.from_day_after,
                    moves=limit.counting.moves_off_non_working_day)


def follow_up(limit: TimeLimit, rules: BasisRules, *, received_on: date, requested_date: date | None,
              follow_up_days: int, place: Place) -> Planned:
    """An "as soon as possible" limit: the requesting state's date if it gave one, else a follow-up."""
    notes = [place.zone_note] if place.zone_note else []
    if requested_date is not None:
        return Planned(limit_id=limit.id, title=f"{limit.title}: date requested by the requesting state",
                       kind="requested_date", last_day=requested_date, time_zone=place.time_zone,
                       calendar=_trim(f"the date the requesting state asked for; {place.time_zone}"), hard=False,
                       rule=_rule(limit, rules),
                       explanation=(f"{rules.short_name} sets no fixed time limit ({limit.provision}); the requesting "
                                    f"state asked for execution by {requested_date.isoformat()}.", *notes))
    last = received_on + timedelta(days=follow_up_days)
    return Planned(limit_id=limit.id, title=f"Follow up: {limit.title.lower()}", kind="follow_up", last_day=last,
                   time_zone=place.time_zone,
                   calendar=_trim(f"{follow_up_days} calendar days after receipt on {received_on.isoformat()} "
                                  f"(Comitas's follow-up, not a legal limit); {place.time_zone}"),
                   hard=False, rule=_rule(limit, rules),
                   explanation=(f"{rules.short_name} sets no fixed time limit ({limit.provision}) and no date was "
                                f"requested: follow up {follow_up_days} days after receipt.", *notes))


def plan(rules: BasisRules, *, start: str, on: date, place: Place, requested_date: date | None = None,
         follow_up_days: int = 60) -> list[Planned]:
    """Every limit of ``rules`` that starts with ``start`` (``receipt`` or ``recognition``) on ``on``."""
    planned: list[Planned] = []
    for limit in rules.time_limits:
        if limit.start != start:
            continue
        if limit.kind == "fixed":
            planned.append(count(limit, rules, start_counting(limit, on), place))
        else:
            planned.append(follow_up(limit, rules, received_on=on, requested_date=requested_date,
                                     follow_up_days=follow_up_days, place=place))
    if start == "receipt" and requested_date is not None and any(t.kind == "fixed" for t in rules.time_limits):
        # A date given in the request beside the basis's fixed limits (EIO Art 12(2)): watched, but soft.
        planned.append(Planned(
            limit_id="requested_date", title="Date requested by the issuing authority", kind="requested_date",
            last_day=requested_date, time_zone=place.time_zone,
            calendar=_trim(f"the date the requesting state asked for; {place.time_zone}"), hard=False,
            rule={"basis": rules.code, "provision": "the request's own date (EIO Directive Art 12(2): take as full "
                                                    "account as possible)", "status": "partial"},
            explanation=(f"The request asks for execution by {requested_date.isoformat()}.",)))
    return planned


def extended(limit: TimeLimit, rules: BasisRules, counting: Counting, days: int, reason: str,
             place: Place) -> Planned:
    """The limit counted again with one more extension (refused beyond its cap: ExtensionRefused, 422)."""
    if limit.extension is None:
        raise InvalidInput(f"{limit.title} cannot be extended under {rules.short_name}")
    if not reason.strip():
        raise InvalidInput("an extension needs its reason")
    more = Counting(start=counting.start, amount=counting.amount, unit=counting.unit,
                    from_day_after=counting.from_day_after, moves=counting.moves, pauses=counting.pauses,
                    extensions=(*counting.extensions, (days, limit.extension.unit, reason)))
    return count(limit, rules, more, place)


def paused(counting: Counting, on: date) -> Counting:
    return Counting(start=counting.start, amount=counting.amount, unit=counting.unit,
                    from_day_after=counting.from_day_after, moves=counting.moves,
                    pauses=(*counting.pauses, (on, None)), extensions=counting.extensions)


def resumed(counting: Counting, on: date) -> Counting:
    """The open pause closed: ``on`` is the first day counted again."""
    pauses = list(counting.pauses)
    if pauses and pauses[-1][1] is None:
        start, _ = pauses[-1]
        if on <= start:
            pauses.pop()  # taken up again the day it stopped: no day was lost
        else:
            pauses[-1] = (start, on)
    return Counting(start=counting.start, amount=counting.amount, unit=counting.unit,
                    from_day_after=counting.from_day_after, moves=counting.moves, pauses=tuple(pauses),
                    extensions=counting.extensions)
