"""Deadlines as their owners announce them, and the reminders they call for. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any


class DeadlineState(StrEnum):
    OPEN = "open"
    MET = "met"
    WITHDRAWN = "withdrawn"


DUE = "due"


@dataclass(frozen=True)
class DeadlineFacts:
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
    rule: dict[str, Any]


@dataclass(frozen=True)
class DeadlineStatus:
    facts: DeadlineFacts
    state: DeadlineState
    closed_reason: str | None
    revision: int
    last_event_at: datetime


def on_requested(current: DeadlineStatus | None, facts: DeadlineFacts, *, event_at: datetime) -> DeadlineStatus | None:
    """The deadline after a ``deadline.requested``; None when the event changes nothing (it is older
    than what was already applied: events of one deadline may arrive out of order after a retry).

    The revision moves only when the timers must change: the deadline is new, moved, or reopened.
    """
    if current is None:
        return DeadlineStatus(facts, DeadlineState.OPEN, None, 1, event_at)
    if event_at < current.last_event_at:
        return None
    timers_change = current.state is not DeadlineState.OPEN or current.facts.due_at != facts.due_at
    return DeadlineStatus(facts, DeadlineState.OPEN, None, current.revision + (1 if timers_change else 0), event_at)


def on_withdrawn(current: DeadlineStatus | None, reason: str, *, event_at: datetime) -> DeadlineStatus | None:
    """``met`` closes the deadline as met; ``withdrawn`` and ``superseded`` as withdrawn. A deadline
    never heard of is left alone (None)."""
    if current is None or event_at < current.last_event_at:
        return None
    state = DeadlineState.MET if reason == "met" else DeadlineState.WITHDRAWN
    timers_change = current.state is DeadlineState.OPEN
    return replace(current, state=state, closed_reason=reason, last_event_at=event_at,
                   revision=current.revision + (1 if timers_change else 0))


@dataclass(frozen=True)
class Reminder:
    name: str
    fire_at: datetime


def reminder_plan(due_at: datetime, *, now: datetime, days_before: tuple[int, ...]) -> list[Reminder]:
    """Reminders still ahead: ``d30``, ``d7``, ``d1`` … before ``due_at`` and ``due`` at it."""
    planned = [Reminder(f"d{days}", due_at - timedelta(days=days)) for days in sorted(set(days_before), reverse=True)]
    planned.append(Reminder(DUE, due_at))
    return [r for r in planned if r.fire_at > now]


def reminder_applies(state: str, due_at: datetime, *, reminder_due_at: datetime) -> bool:
    """A fired timer still means something only if the deadline is open and has not moved since."""
    return state == DeadlineState.OPEN and due_at == reminder_due_at


def reminder_title(title: str, reminder: str) -> str:
    if reminder == DUE:
        return f"Deadline reached: {title}"
    days = int(reminder.removeprefix("d"))
    return f"Deadline in {days} day{'s' if days != 1 else ''}: {title}"
