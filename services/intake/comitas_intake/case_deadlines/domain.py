"""What the filings, proceedings and compliance features share about the deadlines they ask notifications
to watch, and about the days they are given: a pure library (no service), reached through this package.

- a period of a body's rules added to a day (:func:`add_period`, as admissibility counts its limits);
- the latest calendar day anywhere on Earth (:func:`latest_today`), so a day someone wrote is refused as
  "in the future" only when it is so everywhere;
- a 422 naming one field (:func:`invalid_input`);
- ``comitas.deadline.requested`` and its "met" withdrawal, keyed per filing and deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from comitas_shared.errors import InvalidInput
from comitas_shared.events.catalogue import (
    DEADLINE_REQUESTED,
    DEADLINE_WITHDRAWN,
    DeadlineRequested,
    DeadlineWithdrawn,
)
from comitas_shared.events.envelope import CloudEvent

from .. import admissibility


def latest_today(now: datetime) -> date:
    """The latest calendar day anywhere on Earth at ``now`` (UTC+14): a day on or before it is not in the
    future for someone, wherever they wrote it."""
    return (now + timedelta(hours=14)).date()


def invalid_input(detail: str, pointer: str) -> InvalidInput:
    """A 422 naming the one field at fault (``pointer``)."""
    return InvalidInput(detail, slug="validation-error", title="Validation error",
                        errors=[{"pointer": pointer, "detail": detail}])


class Sourced(Protocol):
    """A rule read from data: what it provides, where it was read, and whether that was confirmed."""

    @property
    def provision(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def status(self) -> str: ...


def add_period(day: date, amount: int, unit: str) -> date:
    """``day`` plus a period of the bodies' rules (calendar days, weeks or months; a month's end is
    clamped: 31 Jan + 1 month = 28/29 Feb), counted as admissibility counts its limits."""
    return admissibility.add_period(day, amount, "days" if unit == "calendar_days" else unit)


def deadline_key(filing_id: str, deadline: str) -> str:
    """Stable per filing and deadline: a new day for the same deadline replaces its timer."""
    return f"filing:{filing_id}:{deadline}"


def deadline_requested(*, filing_id: str, deadline: str, kind: str, title: str, complaint_id: str,
                       institution_id: str, mechanism: str, last_day: date, calendar: str, hard: bool,
                       rule: Sourced, now: datetime, source: str, concerns: list[str] | None = None) -> CloudEvent:
    """Notifications watches ``last_day`` (to its end, UTC) with the rule it comes from."""
    return DEADLINE_REQUESTED.build(
        source=source, subject=complaint_id, institution_id=institution_id, time=now,
        data=DeadlineRequested(
            deadline_key=deadline_key(filing_id, deadline), institution_id=institution_id, kind=kind, title=title,
            case_ref=complaint_id, case_kind="complaint", mechanism=mechanism, last_day=last_day, time_zone="UTC",
            due_at=datetime.combine(last_day, time(23, 59, 59), tzinfo=UTC), calendar=calendar, hard=hard,
            concerns=concerns, rule={"provision": rule.provision, "source": rule.source, "status": rule.status}))


def deadline_met(*, filing_id: str, deadline: str, complaint_id: str, institution_id: str, now: datetime,
                 source: str) -> CloudEvent:
    return DEADLINE_WITHDRAWN.build(source=source, subject=complaint_id, institution_id=institution_id, time=now,
                                    data=DeadlineWithdrawn(deadline_key=deadline_key(filing_id, deadline),
                                                           institution_id=institution_id, reason="met"))
