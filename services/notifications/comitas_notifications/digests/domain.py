"""When a daily digest is sent and which events it covers. Pure functions.

A digest subscription's events are gathered into the digest whose period is under way when they
arrive: from the digest hour on one local day to the same hour on the next, in the institution's time
zone. The digest is sent at the end of its period, so an event waits a day at most, and a day with a
daylight-saving change has a period of 23 or 25 hours (the hour stays the local one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    time_zone: str

    @property
    def key(self) -> str:
        """Stable name of the digest of one subscription for this period (its delivery's ``event_id``)."""
        return "digest:" + self.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _at_hour(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def window_containing(now: datetime, *, time_zone: str, hour: int) -> Window:
    """The period ``now`` falls in: [the last ``hour`` o'clock local at or before now, the next one)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    end = _at_hour(today, hour, zone)
    if now >= end:
        end = _at_hour(today + timedelta(days=1), hour, zone)
    start = _at_hour(end.astimezone(zone).date() - timedelta(days=1), hour, zone)
    return Window(start=start, end=end, time_zone=time_zone)


def following(window: Window, *, hour: int) -> Window:
    """The period after ``window`` (for an event that arrives once its digest is already being sent)."""
    return window_containing(window.end, time_zone=window.time_zone, hour=hour)
