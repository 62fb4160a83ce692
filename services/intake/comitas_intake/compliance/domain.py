"""Pure decisions about compliance with a body's decision: no session, no clock, no NATS.

- a decision's remedies become measures to follow (:func:`check_decision`): individual (compensation,
  investigation, release, reopening) or general (law or practice reform);
- each measure's status over time (:data:`STATUSES`, :func:`status_change`): not implemented, partial,
  full, each recorded as of a day with its source (the state's report, an NGO's or NHRI's submission,
  the body's own assessment, the decision itself); statuses are assessments that may go back as well as
  forward, so every status may follow every other, but never before the last one recorded, before the
  decision or in the future, and only from a source the body's procedure takes, graded on its scale;
- the state's first follow-up report (:func:`report_due`, :func:`follow_up_events`): its last day from
  the body's procedure, watched by notifications and met by the first state report recorded;
- the published trajectories (:func:`trajectories`): per respondent state, per body and per kind of
  measure, the measures in each status at the end of each year, every cell under the threshold
  suppressed, and a second cell in a row whose total would give the first away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from comitas_shared.events.envelope import CloudEvent

from ..case_deadlines import add_period, deadline_met, deadline_requested, invalid_input
from .rules import Procedure

THRESHOLD = 5


class Kind(StrEnum):
    INDIVIDUAL = "individual"
    GENERAL = "general"


class MeasureType(StrEnum):
    COMPENSATION = "compensation"
    INVESTIGATION = "investigation"
    RELEASE = "release"
    REOPENING = "reopening"
    RESTITUTION = "restitution"
    LAW_REFORM = "law_reform"
    PRACTICE_REFORM = "practice_reform"
    OTHER = "other"


KIND_OF: dict[MeasureType, Kind | None] = {
    MeasureType.COMPENSATION: Kind.INDIVIDUAL, MeasureType.INVESTIGATION: Kind.INDIVIDUAL,
    MeasureType.RELEASE: Kind.INDIVIDUAL, MeasureType.REOPENING: Kind.INDIVIDUAL,
    MeasureType.RESTITUTION: Kind.INDIVIDUAL, MeasureType.LAW_REFORM: Kind.GENERAL,
    MeasureType.PRACTICE_REFORM: Kind.GENERAL, MeasureType.OTHER: None,
}


class Status(StrEnum):
    NOT_IMPLEMENTED = "not_implemented"
    PARTIAL = "partial"
    FULL = "full"


STATUSES: tuple[Status, ...] = tuple(Status)


def check_decision(procedure: Procedure, *, decided_on: date, final_on: date | None, today: date,
                   measures: Sequence[tuple[Kind, MeasureType]]) -> None:
    """422 for a decision in the future, a finality before the decision (or missing where the body's
    report runs from finality), no measure, or a measure whose kind contradicts its type."""
    if decided_on > today:
        raise invalid_input(f"{decided_on.isoformat()} is in the future", "/decided_on")
    if final_on is not None and (final_on < decided_on or final_on > today):
        raise invalid_input("a decision becomes final on or after its day, and not in the future", "/final_on")
    if procedure.report is not None and procedure.report.start == "finality" and final_on is None:
        raise invalid_input(f"{procedure.name}: the state's report runs from finality: give final_on", "/final_on")
    if not measures:
        raise invalid_input("a decision to follow names at least one measure", "/measures")
    for index, (kind, measure_type) in enumerate(measures):
        expected = KIND_OF[measure_type]
        if expected is not None and expected is not kind:
            raise invalid_input(f"{measure_type.value} is a {expected.value} measure", f"/measures/{index}/kind")


@dataclass(frozen=True)
class StatusChange:
    from_status: Status | None
    to_status: Status


def status_change(procedure: Procedure, *, current: Status | None, last_as_of: date | None, decided_on: date,
                  status: Status, as_of: date, source: str, grade: str | None, today: date) -> StatusChange:
    """A measure's new status as of ``as_of`` from ``source``: any status may follow any other (an
    assessment may find a regression), but not before the last one recorded or the decision, not in the
    future, only from a source the procedure takes, with a grade only on the body's scale."""
    if as_of > today:
        raise invalid_input(f"{as_of.isoformat()} is in the future", "/as_of")
    if as_of < decided_on:
        raise invalid_input("a status cannot be as of a day before the decision", "/as_of")
    if last_as_of is not None and as_of < last_as_of:
        raise invalid_input(f"a status as of {last_as_of.isoformat()} is already recorded: statuses are recorded in "
                            "order", "/as_of")
    if source not in procedure.submissions:
        raise invalid_input(f"{procedure.name} takes information from {', '.join(procedure.submissions)}", "/source")
    if grade is not None and grade not in procedure.scale:
        raise invalid_input(f"{procedure.name} grades on {', '.join(procedure.scale) or 'no scale'}", "/grade")
    return StatusChange(from_status=current, to_status=status)


def report_due(procedure: Procedure, *, decided_on: date, final_on: date | None) -> date | None:
    """The last day of the state's first follow-up report, or None where the body's period is not known
    (the officer checks: never a guessed date)."""
    report = procedure.report
    if report is None:
        return None
    start = final_on if report.start == "finality" else decided_on
    return add_period(start or decided_on, report.amount, report.unit)


REPORT = "follow_up_report"


def follow_up_events(procedure: Procedure, *, filing_id: str, complaint_id: str, institution_id: str,
                     mechanism: str, state: str, decided_on: date, final_on: date | None, now: datetime,
                     source: str) -> list[CloudEvent]:
    """The state's report watched by notifications: reminders before it falls due and when it is overdue."""
    last_day = report_due(procedure, decided_on=decided_on, final_on=final_on)
    if last_day is None or procedure.report is None:
        return []
    report = procedure.report
    return [deadline_requested(
        filing_id=filing_id, deadline=REPORT, kind="follow_up_report", title=f"{report.what} ({state})",
        complaint_id=complaint_id, institution_id=institution_id, mechanism=mechanism, last_day=last_day,
        calendar=f"{report.amount} {report.unit.replace('_', ' ')} from the {report.start}",
        hard=report.status != "unconfirmed", rule=report, now=now, source=source)]


def report_received(*, filing_id: str, complaint_id: str, institution_id: str, now: datetime,
                    source: str) -> CloudEvent:
    return deadline_met(filing_id=filing_id, deadline=REPORT, complaint_id=complaint_id,
                        institution_id=institution_id, now=now, source=source)


# --- trajectories -----------------------------------------------------------------------------------------

Dimension = Literal["respondent_state", "body", "kind"]
DIMENSIONS: tuple[Dimension, ...] = ("respondent_state", "body", "kind")


@dataclass(frozen=True)
class MeasureFacts:
    """A measure as the published tables know it: codes and days, nothing that names anyone."""

    respondent_state: str
    body: str
    kind: str
    decided_on: date
    history: tuple[tuple[date, Status], ...]  # (as of, status), in order

    def status_at(self, day: date) -> Status | None:
        if self.decided_on > day:
            return None
        found = Status.NOT_IMPLEMENTED
        for as_of, status in self.history:
            if as_of <= day:
                found = status
        return found


@dataclass(frozen=True)
class Cell:
    status: Status
    count: int | None
    suppressed: bool


@dataclass(frozen=True)
class Row:
    key: str
    period: str
    total: int | None
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    dimension: Dimension
    rows: tuple[Row, ...]


def _protect(key: str, period: str, counts: dict[Status, int], threshold: int) -> Row:
    total = sum(counts.values())
    if total < threshold:
        return Row(key, period, None, tuple(Cell(s, None, True) for s in STATUSES))
    hidden = {s for s in STATUSES if counts[s] < threshold}
    if len(hidden) == 1:
        # One hidden cell of a row whose total is published would be the total minus the others.
        hidden.add(min((s for s in STATUSES if s not in hidden), key=lambda s: (counts[s], s.value)))
    return Row(key, period, total, tuple(Cell(s, None if s in hidden else counts[s], s in hidden) for s in STATUSES))


def periods(first: date, last: date) -> list[tuple[str, date]]:
    """Year ends from ``first``'s year to ``last``'s; the current year counts up to ``last``."""
    return [(str(year), min(date(year, 12, 31), last)) for year in range(first.year, last.year + 1)]


def trajectories(measures: Iterable[MeasureFacts], *, today: date, threshold: int = THRESHOLD) -> list[Table]:
    """Per dimension, per value and per year: the measures decided by then in each status at the year's
    end (or today), every cell under ``threshold`` suppressed (and a second one where the published total
    would give it away); a row whose total is under it is suppressed whole."""
    facts = list(measures)
    if not facts:
        return [Table(d, ()) for d in DIMENSIONS]
    ends = periods(min(m.decided_on for m in facts), today)
    tables = []
    for dimension in DIMENSIONS:
        rows = []
        for key in sorted({getattr(m, dimension) for m in facts}):
            for label, end in ends:
                counts = dict.fromkeys(STATUSES, 0)
                for measure in facts:
                    if getattr(measure, dimension) != key:
                        continue
                    status = measure.status_at(end)
                    if status is not None:
                        counts[status] += 1
                if sum(counts.values()):
                    rows.append(_protect(key, label, counts, threshold))
        tables.append(Table(dimension, tuple(rows)))
    return tables


def chart(table: Table) -> dict[str, Any]:
    """A Vega-Lite specification of a table's published cells (suppressed cells are left out), which the
    web client renders as stacked bars per year, one panel per value."""
    values = [{"key": row.key, "period": row.period, "status": cell.status.value, "measures": cell.count}
              for row in table.rows for cell in row.cells if not cell.suppressed]
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": values},
            "mark": "bar", "encoding": {
                "column": {"field": "key", "type": "nominal", "title": table.dimension.replace("_", " ")},
                "x": {"field": "period", "type": "ordinal"},
                "y": {"field": "measures", "type": "quantitative", "stack": "zero"},
                "color": {"field": "status", "type": "nominal"}}}
