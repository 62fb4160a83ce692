"""The recipient's periods, counted where the recipient counts them: its directory entry's period (amount
and unit), in the working days of its country and subdivision (``comitas_shared.calendars``: the pinned
``holidays`` library) plus its own closure days, from the day after receipt in its time zone.

A period the directory does not give is not invented: no deadline is requested, and the referral says
why (these are the institution's own service periods, not legal time limits, but a guessed period would
still be read as a promise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from comitas_shared.calendars import Pause, Unit, apply_pauses, directory_closures, state_calendar
from comitas_shared.calendars.calendar import Calendar
from comitas_shared.calendars.counting import CountedDeadline

ACKNOWLEDGEMENT, RESPONSE = "acknowledgement", "response"
# A deadline's title as notifications keeps it (its deadline and inbox ``title`` columns: max_length 500).
TITLE_LIMIT = 500
_VERBS = {ACKNOWLEDGEMENT: "acknowledge", RESPONSE: "accept or decline"}


@dataclass(frozen=True)
class Counted:
    period: str
    last_day: date
    due_at: datetime
    time_zone: str
    calendar: str
    amount: int
    unit: str
    start: date
    holidays_version: str
    explanation: tuple[str, ...]


def calendar_of(entry: dict[str, Any]) -> dict[str, Any]:
    """What a referral keeps of its recipient's directory entry to count its periods."""
    return {key: entry.get(key) for key in ("country", "subdivision", "time_zone", "closures",
                                            "acknowledgement_period", "response_period")}


def title(referral_id: str, period: str, recipient_name: str | None) -> str:
    """The deadline's title, naming who must act (the recipient, by its directory name): both sides get
    it, so "the recipient is to acknowledge" on the sender's list read as if the sender had to. Without
    a name, "the recipient"; a name too long for ``TITLE_LIMIT`` is shortened, never the verb."""
    head, tail = f"Referral {referral_id[:8]}: ", f" is to {_VERBS[period]}"
    who = " ".join((recipient_name or "").split()) or "the recipient"
    room = TITLE_LIMIT - len(head) - len(tail)
    if len(who) > room:
        who = who[:room - 1].rstrip() + "…"
    return f"{head}{who}{tail}"


def today_there(place: dict[str, Any], now: datetime) -> date | None:
    zone = place.get("time_zone")
    if not zone:
        return None
    try:
        return now.astimezone(ZoneInfo(str(zone))).date()
    except (ZoneInfoNotFoundError, ValueError):
        return None


def why_not(place: dict[str, Any], period: str) -> str | None:
    """Why no deadline can be counted for ``period`` (None: it can)."""
    if not place.get(f"{period}_period"):
        return f"the recipient's directory entry gives no {period} period"
    if not place.get("time_zone"):
        return "the recipient's directory entry gives no time zone to count in"
    if not place.get("country"):
        return "the recipient's directory entry gives no country"
    return None


def count(place: dict[str, Any], period: str, start: date, *,
          pauses: list[list[str | None]] | None = None) -> Counted | None:
    """``period`` counted from the day after ``start`` (receipt, or acknowledgement), minus ``pauses``."""
    if why_not(place, period) is not None:
        return None
    spec = place[f"{period}_period"]
    calendar = _calendar(place)
    unit = cast(Unit, spec["unit"])
    result = apply_pauses(start, int(spec["amount"]), unit, calendar, _pauses(pauses or []), from_day_after=True)
    if not isinstance(result, CountedDeadline):
        return None  # paused: no last day while the pause is open
    return Counted(period=period, last_day=result.last_day, due_at=result.ends_at_utc, time_zone=result.time_zone,
                   calendar=result.calendar, amount=int(spec["amount"]), unit=str(spec["unit"]), start=start,
                   holidays_version=result.holidays_version, explanation=tuple(result.explain()))


def _calendar(place: dict[str, Any]) -> Calendar:
    closures = directory_closures(place.get("closures") or [], default_source="the institution's directory entry")
    return state_calendar(str(place["country"]), place.get("subdivision") or None, time_zone=str(place["time_zone"]),
                          closures=closures)


def _pauses(pauses: list[list[str | None]]) -> list[Pause]:
    found: list[Pause] = []
    for paused_on, resumed_on in pauses:
        found.append((date.fromisoformat(str(paused_on)), date.fromisoformat(resumed_on) if resumed_on else None))
    return found
