"""Time, read in one place.

Two kinds of "now" exist in Comitas and they must not be confused:

- the **business clock** (:data:`Clock`), which decides what is due, overdue or expired in the domain.
  It hangs on the platform (``Platform.clock``), reaches routes as ``Now`` and workers and consumers as
  an argument, and tests replace it to pin "today";
- **real time** (:func:`real_now`), for what must follow the wall whatever a test pins: token expiry and
  issue times, webhook timestamps, UUIDv7 ids, NATS ``@at`` schedule times, retention of platform rows.

:func:`real_now` is the only place in ``shared/`` and ``services/`` allowed to read the wall clock (ruff's
banned-api rule TID251 enforces it, with an allowance for this file only). Monotonic time
(``time.monotonic``, the event loop's ``time()``) measures intervals, not dates, and stays free.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Answers "what time is it" as a timezone-aware UTC datetime."""


def real_now() -> datetime:
    """The wall clock, in UTC. The default business clock, and the clock of security code."""
    return datetime.now(UTC)


def real_timestamp() -> float:
    """Seconds since the epoch on the wall clock (JWT ``iat``/``exp``, webhook timestamps)."""
    return real_now().timestamp()


class FixedClock:
    """A clock that says what it is told; tests move it forward with :meth:`advance` or :meth:`set`."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock answers in timezone-aware UTC")
        self._at = at.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at
