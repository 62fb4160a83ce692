"""Calendars of international bodies that the ``holidays`` library does not have, kept as data.

One TOML file per body in ``data/`` (``<key>.toml``), validated here with pydantic (unknown fields
refused) so a malformed file fails loudly, naming the file and the field. Every fact carries its
source and status; a year is *known* only when the file lists it as ``complete`` and ``confirmed``.
Any other year is "unknown: check": the counting engine still skips the closures the file confirms
for it, but marks its answer incomplete rather than passing a weekend-only count off as the body's
calendar. Closures a source reports without confirming are never skipped, only warned about, so an
unconfirmed holiday can never make a deadline later than it is.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DATA_DIR = Path(__file__).parent / "data"
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"

Status = Literal["confirmed", "partial", "unconfirmed"]
DayName = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DAY_NUMBERS: dict[str, int] = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}


class CalendarFileError(ValueError):
    """A body calendar file is malformed. The message names the file and the field path."""

    def __init__(self, file: str, problems: Iterable[tuple[str, str]]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__("; ".join(f"{file}: {where}: {what}" for where, what in self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    source: str = Field(min_length=1)
    status: Status
    note: str | None = None


class TimeZoneEntry(Sourced):
    iana: str

    @field_validator("iana")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone") from exc
        return value


class WeekendEntry(Sourced):
    days: tuple[DayName, ...] = Field(min_length=1, max_length=6)


class HolidayRule(Sourced):
    """How the body sets its holidays, in words: what a reader checks when a year is unknown."""

    rule: str = Field(min_length=1)


class ClosureEntry(Sourced):
    """A day (or ``date``..``until`` inclusive) the body is closed."""

    day: date = Field(alias="date")
    until: date | None = None
    name: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> ClosureEntry:
        if self.until is not None and self.until < self.day:
            raise ValueError("until is before date")
        return self

    @property
    def last(self) -> date:
        return self.until or self.day

    def covers(self, day: date) -> bool:
        return self.day <= day <= self.last


class YearEntry(Sourced):
    year: int = Field(ge=1900, le=2200)
    complete: bool
    closures: tuple[ClosureEntry, ...] = ()

    @model_validator(mode="after")
    def _within_year(self) -> YearEntry:
        for closure in self.closures:
            if closure.day.year != self.year or closure.last.year != self.year:
                raise ValueError(f"closure {closure.day.isoformat()} is not in {self.year}")
        return self

    @property
    def known(self) -> bool:
        """Complete and confirmed: the only case in which a count over this year is complete."""
        return self.complete and self.status == "confirmed"


class Suspension(Sourced):
    """A period in which the body stopped time limits. ``resumed_on`` is the first day counted again."""

    paused_on: date
    resumed_on: date
    applies_to: str = Field(min_length=1)
    excludes: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Suspension:
        if self.resumed_on <= self.paused_on:
            raise ValueError("resumed_on must be after paused_on")
        return self

    def as_pause(self) -> tuple[date, date | None]:
        """The form :func:`comitas_shared.calendars.apply_pauses` takes."""
        return (self.paused_on, self.resumed_on)


class BodyFile(_Strict):
    schema_version: Literal[1]
    version: date
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    serves: tuple[str, ...] = ()
    time_zone: TimeZoneEntry
    weekend: WeekendEntry
    holidays: HolidayRule
    years: tuple[YearEntry, ...] = ()
    suspensions: tuple[Suspension, ...] = ()

    @model_validator(mode="after")
    def _one_entry_per_year(self) -> BodyFile:
        seen = [entry.year for entry in self.years]
        duplicated = sorted({year for year in seen if seen.count(year) > 1})
        if duplicated:
            raise ValueError(f"years listed more than once: {duplicated}")
        return self


@dataclass(frozen=True)
class BodyCalendar:
    """A validated body file and the version of its exact bytes (recorded with every count)."""

    data: BodyFile
    data_version: str

    @property
    def key(self) -> str:
        return self.data.key

    @property
    def short_name(self) -> str:
        return self.data.short_name

    @property
    def time_zone(self) -> str:
        return self.data.time_zone.iana

    @property
    def weekend(self) -> frozenset[int]:
        return frozenset(DAY_NUMBERS[day] for day in self.data.weekend.days)

    @property
    def suspensions(self) -> tuple[Suspension, ...]:
        return self.data.suspensions

    def year(self, year: int) -> YearEntry | None:
        for entry in self.data.years:
            if entry.year == year:
                return entry
        return None

    def confirmed_closure(self, day: date) -> ClosureEntry | None:
        entry = self.year(day.year)
        if entry is None:
            return None
        for closure in entry.closures:
            if closure.status == "confirmed" and closure.covers(day):
                return closure
        return None

    def unconfirmed_closures(self, first: date, last: date) -> list[ClosureEntry]:
        """Reported closures overlapping ``first``..``last`` that are not confirmed (never skipped)."""
        found: list[ClosureEntry] = []
        for year in range(first.year, last.year + 1):
            entry = self.year(year)
            if entry is None:
                continue
            found += [c for c in entry.closures
                      if c.status != "confirmed" and c.day <= last and c.last >= first]
        return found


def load_body_calendars(directory: Path | None = None) -> Mapping[str, BodyCalendar]:
    """Every ``<key>.toml`` in ``directory`` (default: the shipped data), validated, keyed by key."""
    if directory is None:
        return _shipped()
    return _load(directory)


@cache
def _shipped() -> Mapping[str, BodyCalendar]:
    return _load(DATA_DIR)


def _load(directory: Path) -> Mapping[str, BodyCalendar]:
    if not directory.is_dir():
        raise CalendarFileError(str(directory), [("<directory>", "not a directory")])
    bodies: dict[str, BodyCalendar] = {}
    for path in sorted(directory.glob("*.toml")):
        raw = path.read_bytes()
        try:
            parsed = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CalendarFileError(path.name, [("<toml>", str(exc))]) from exc
        try:
            body = BodyFile.model_validate(parsed)
        except ValidationError as exc:
            raise CalendarFileError(
                path.name, [(".".join(str(p) for p in e["loc"]) or "<file>", e["msg"]) for e in exc.errors()]
            ) from exc
        if body.key != path.stem:
            raise CalendarFileError(path.name, [("key", f"{body.key!r} does not match the file name {path.stem!r}")])
        # The exact bytes, so a result says which data it was computed with, not just which date.
        digest = hashlib.sha256(raw).hexdigest()[:12]
        bodies[body.key] = BodyCalendar(body, f"{body.key}@{body.version.isoformat()}+sha256.{digest}")
    return MappingProxyType(bodies)
