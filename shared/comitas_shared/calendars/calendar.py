"""The calendar of a place where a legal period is counted.

A :class:`Calendar` answers one question for any date: is it a working day there, and if not, why.
It combines up to three things, each with its own source:

- a State (ISO 3166-1 alpha-2) and optional subdivision, whose public holidays come from the
  ``holidays`` library (pinned; its version is recorded with every result, since a new release can
  change a past answer);
- an institution's own closures, passed in as data (:class:`Closure`);
- an international body's closures, kept as data files (:mod:`.bodies`).

and a weekend (Saturday–Sunday unless said otherwise) and an IANA time zone, which says when a last
day ends. Everything is a pure function of its arguments: no clock, no host time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import pycountry
from holidays.version import __version__ as _library_version

from ..errors import InvalidInput
from .bodies import BodyCalendar, load_body_calendars

HOLIDAYS_VERSION: str = _library_version

# The same end of day as intake's admissibility dates: 23:59:59.999 local time.
END_OF_DAY = time(23, 59, 59, 999_000)

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SATURDAY_SUNDAY: frozenset[int] = frozenset({5, 6})
FRIDAY_SATURDAY: frozenset[int] = frozenset({4, 5})
FRIDAY_ONLY: frozenset[int] = frozenset({4})
SUNDAY_ONLY: frozenset[int] = frozenset({6})

COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
# The library marks Islamic (and some other lunar) holidays it computes rather than knows.
ESTIMATED_MARK = "estimated"


class NonWorkingKind(StrEnum):
    WEEKEND = "weekend"
    PUBLIC_HOLIDAY = "public_holiday"
    CLOSURE = "closure"
    BODY_CLOSURE = "body_closure"


@dataclass(frozen=True)
class Closure:
    """An institution's own closure: ``day``, or ``day``..``until`` inclusive, with why and where from."""

    day: date
    name: str
    source: str
    until: date | None = None

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.source.strip():
            raise InvalidInput("a closure needs a name and a source")
        if self.until is not None and self.until < self.day:
            raise InvalidInput(f"closure {self.name!r} ends ({self.until}) before it starts ({self.day})")

    @property
    def last(self) -> date:
        return self.until or self.day

    def covers(self, day: date) -> bool:
        return self.day <= day <= self.last


@dataclass(frozen=True)
class NonWorkingDay:
    """A day that is not counted (or that a last day moved over), with the reason and its source."""

    day: date
    kind: NonWorkingKind
    name: str
    source: str

    def describe(self) -> str:
        label = {
            NonWorkingKind.WEEKEND: "weekend",
            NonWorkingKind.PUBLIC_HOLIDAY: "public holiday",
            NonWorkingKind.CLOSURE: "closure",
            NonWorkingKind.BODY_CLOSURE: "closure",
        }[self.kind]
        return f"{format_day(self.day)}: {label}, {self.name} ({self.source})"


@dataclass(frozen=True)
class Coverage:
    """Whether every closure that could affect a range of days is known, and what is not."""

    complete: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Entity:
    language: str | None
    weekend: frozenset[int]
    start_year: int
    end_year: int
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Calendar:
    """Where a period is counted. Build it with :func:`state_calendar` or :func:`body_calendar`."""

    time_zone: str
    country: str | None = None
    subdivision: str | None = None
    categories: tuple[str, ...] = ("public",)
    weekend: frozenset[int] = SATURDAY_SUNDAY
    closures: tuple[Closure, ...] = ()
    body: BodyCalendar | None = None
    name: str | None = None
    # Said once, carried into every result counted with this calendar.
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Accept any iterables from callers; store immutable values so the calendar can be shared.
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "weekend", frozenset(self.weekend))
        object.__setattr__(self, "closures", tuple(self.closures))
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"{self.time_zone!r} is not an IANA time zone") from exc
        if not self.weekend <= set(range(7)):
            raise InvalidInput("weekend days are numbered 0 (Monday) to 6 (Sunday)")
        if len(self.weekend) == 7:
            raise InvalidInput("a calendar whose every day is weekend has no working day")
        if self.country is None and self.body is None:
            raise InvalidInput("a calendar needs a State (country) or an international body")
        if self.country is None and self.subdivision is not None:
            raise InvalidInput("a subdivision needs its country")
        if self.country is not None:
            object.__setattr__(self, "subdivision", library_subdivision(self.country, self.subdivision))
            _entity(self.country, self.subdivision, self.categories)

    # -- the question every count asks -------------------------------------------------------------

    def non_working(self, day: date) -> NonWorkingDay | None:
        """Why ``day`` is not a working day here, or ``None`` if it is one.

        The weekend is named first: a holiday on a Sunday changes nothing, and the plainer reason
        reads better in an explanation.
        """
        if day.weekday() in self.weekend:
            return NonWorkingDay(day, NonWorkingKind.WEEKEND, WEEKDAY_NAMES[day.weekday()], self._weekend_source())
        for closure in self.closures:
            if closure.covers(day):
                return NonWorkingDay(day, NonWorkingKind.CLOSURE, closure.name, closure.source)
        if self.body is not None:
            found = self.body.confirmed_closure(day)
            if found is not None:
                return NonWorkingDay(day, NonWorkingKind.BODY_CLOSURE, found.name, found.source)
        if self.country is not None:
            holiday = _library_year(self.country, self.subdivision, self.categories, day.year).get(day)
            if holiday is not None:
                return NonWorkingDay(day, NonWorkingKind.PUBLIC_HOLIDAY, holiday, self._library_source())
        return None

    def is_working_day(self, day: date) -> bool:
        return self.non_working(day) is None

    def end_of_day_utc(self, day: date) -> datetime:
        """The instant (aware, UTC) at which ``day`` ends in this calendar's time zone."""
        return end_of_day_utc(day, self.time_zone)

    # -- what a result records -----------------------------------------------------------------------

    @property
    def place(self) -> str:
        if self.body is not None:
            return self.body.key
        assert self.country is not None
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country

    @property
    def data_version(self) -> str | None:
        """The body file's version (date and hash of its bytes), when a body's data is used."""
        return self.body.data_version if self.body is not None else None

    @property
    def description(self) -> str:
        """One line naming everything the answer depends on; results carry it, and :func:`extend`
        refuses a calendar whose description differs from the deadline's."""
        parts: list[str] = []
        if self.name:
            parts.append(self.name)
        if self.body is not None:
            parts.append(f"{self.body.short_name} closures ({self.body.data_version})")
        if self.country is not None:
            categories = "+".join(self.categories)
            parts.append(f"{self.place} {categories} holidays (holidays {HOLIDAYS_VERSION})")
        if self.closures:
            parts.append(f"{len(self.closures)} institution closure(s)")
        weekend = "/".join(WEEKDAY_NAMES[d][:3] for d in sorted(self.weekend)) or "none"
        parts.append(f"weekend {weekend}")
        parts.append(self.time_zone)
        return "; ".join(parts)

    def coverage(self, first: date, last: date) -> Coverage:
        """What is not known about ``first``..``last``: a body year missing from its data, a year the
        library does not cover, a holiday the library only estimates, an unconfirmed closure."""
        warnings: list[str] = list(self.notes)
        complete = True
        if self.body is not None:
            body = self.body
            for year in range(first.year, last.year + 1):
                entry = body.year(year)
                if entry is None:
                    complete = False
                    warnings.append(f"{body.short_name}: the closures of {year} are not in the data "
                                    f"({body.data_version}); only weekends are skipped: unknown: check. "
                                    f"How the body sets them: {body.data.holidays.rule}")
                elif not entry.known:
                    complete = False
                    warnings.append(f"{body.short_name}: the closures of {year} are only partly in the data "
                                    f"({entry.status}; {entry.source}): unknown: check")
            for reported in body.unconfirmed_closures(first, last):
                warnings.append(f"{body.short_name} may be closed on {format_day(reported.day)}"
                                f"{' to ' + format_day(reported.last) if reported.until else ''} "
                                f"({reported.name}; {reported.status}, {reported.source}); not skipped: check")
            if body.data.weekend.status != "confirmed":
                warnings.append(f"{body.short_name}: its weekend is {body.data.weekend.status} "
                                f"({body.data.weekend.source}): check")
        if self.country is not None:
            entity = _entity(self.country, self.subdivision, self.categories)
            outside = [y for y in range(first.year, last.year + 1) if not entity.start_year <= y <= entity.end_year]
            if outside:
                complete = False
                warnings.append(f"holidays {HOLIDAYS_VERSION} has no {self.place} holidays for {outside}: "
                                "unknown: check")
            for year in range(first.year, last.year + 1):
                for day, holiday in sorted(_library_year(self.country, self.subdivision, self.categories, year).items()):
                    if first <= day <= last and ESTIMATED_MARK in holiday.lower():
                        complete = False
                        warnings.append(f"{format_day(day)}: {holiday} is an estimated date in holidays "
                                        f"{HOLIDAYS_VERSION} ({self.place}): check the official date")
        return Coverage(complete, tuple(warnings))

    def _weekend_source(self) -> str:
        # Short: it is repeated for every weekend day of an explanation; the full source is in the data.
        if self.body is not None and self.weekend == self.body.weekend:
            return f"{self.body.short_name} working week, {self.body.data.weekend.status}"
        return "this calendar's weekend"

    def _library_source(self) -> str:
        return f"holidays {HOLIDAYS_VERSION}, {self.place}"


def directory_closures(entries: Iterable[Mapping[str, Any]], *, default_source: str) -> list[Closure]:
    """An institution's closures as the institutions directory lists them (``day``, ``until``, ``name``,
    ``source``, ISO dates). The directory validates them; one that does not read is left out."""
    closures = []
    for entry in entries:
        try:
            closures.append(Closure(day=date.fromisoformat(str(entry["day"])), name=str(entry.get("name") or "closure"),
                                    source=str(entry.get("source") or default_source),
                                    until=date.fromisoformat(str(entry["until"])) if entry.get("until") else None))
        except (KeyError, ValueError, InvalidInput):
            continue
    return closures


def state_calendar(
    country: str,
    subdivision: str | None = None,
    *,
    time_zone: str,
    weekend: Iterable[int] = SATURDAY_SUNDAY,
    categories: Iterable[str] = ("public",),
    closures: Iterable[Closure] = (),
    name: str | None = None,
) -> Calendar:
    """The calendar of a State (and subdivision) with the ``holidays`` library's public holidays.

    ``time_zone`` is required: several States span zones, and the law says which one counts.
    ``categories`` are the library's (``public`` by default; e.g. Bavaria's 15 August is in
    ``catholic``, since it is a holiday only in its Catholic-majority municipalities).
    """
    chosen = frozenset(weekend)
    notes: list[str] = []
    subdivision = library_subdivision(country, subdivision)
    if subdivision is not None and _national_only(country, subdivision, tuple(categories)):
        # The directory keeps any ISO 3166-2 code (a French region, FR-GES), the library lists only the
        # subdivisions with holidays of their own (FR's Alsace, 6AE, and Moselle, 57, both inside
        # FR-GES). The national holidays are then the known part; whether a region's own apply is
        # not known, so every result says check rather than the count failing.
        notes.append(f"holidays {HOLIDAYS_VERSION} has no holidays of its own for {country}-{subdivision}; "
                     f"counted with {country}'s national ones: check any regional holiday")
        subdivision = None
    entity = _entity(country, subdivision, tuple(categories))
    if entity.weekend != chosen:
        # A wrong weekend moves every working-day count; say so on every result rather than guess.
        library = "/".join(WEEKDAY_NAMES[d][:3] for d in sorted(entity.weekend))
        mine = "/".join(WEEKDAY_NAMES[d][:3] for d in sorted(chosen))
        notes.append(f"holidays {HOLIDAYS_VERSION} gives {country}'s weekend as {library}; "
                     f"this calendar uses {mine}: check")
    return Calendar(time_zone=time_zone, country=country, subdivision=subdivision, categories=tuple(categories),
                    weekend=chosen, closures=tuple(closures), name=name, notes=tuple(notes))


def body_calendar(key: str, *, closures: Iterable[Closure] = (), name: str | None = None) -> Calendar:
    """The calendar of an international body kept as data (``data/<key>.toml``)."""
    bodies = load_body_calendars()
    if key not in bodies:
        raise InvalidInput(f"no calendar data for body {key!r}; known: {sorted(bodies)}")
    body = bodies[key]
    return Calendar(time_zone=body.time_zone, weekend=body.weekend, closures=tuple(closures), body=body, name=name)


def body_keys() -> list[str]:
    return sorted(load_body_calendars())


def end_of_day_utc(day: date, time_zone: str) -> datetime:
    """The instant (aware, UTC) at which ``day`` ends in ``time_zone`` (23:59:59.999 local)."""
    return datetime.combine(day, END_OF_DAY, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def format_day(day: date) -> str:
    """``Mon 14 Jul 2025``: unambiguous in every locale the explanations are read in."""
    return f"{WEEKDAY_NAMES[day.weekday()][:3]} {day.day} {day.strftime('%b')} {day.year}"


def next_day(day: date) -> date:
    return day + timedelta(days=1)


def library_subdivision(country: str, subdivision: str | None) -> str | None:
    """The subdivision as the ``holidays`` library names it: the directory keeps ISO 3166-2 codes
    (``DE-BE``), the library the part after the country's prefix (``BE``)."""
    if subdivision is not None and subdivision.upper().startswith(f"{country.upper()}-"):
        return subdivision[len(country) + 1:]
    return subdivision


@lru_cache(maxsize=512)
def _national_only(country: str, subdivision: str, categories: tuple[str, ...]) -> bool:
    """Whether ``subdivision`` is an ISO 3166-2 subdivision of ``country`` the library has no calendar
    for (anything else, a typo say, is refused by :func:`_entity` as before)."""
    _entity(country, None, categories)  # the State and the categories first, with their own messages
    if subdivision in holidays.country_holidays(country).subdivisions:
        return False
    return pycountry.subdivisions.get(code=f"{country}-{subdivision}") is not None  # type: ignore[no-untyped-call]


@lru_cache(maxsize=512)
def _entity(country: str, subdivision: str | None, categories: tuple[str, ...]) -> _Entity:
    """Validate a State, subdivision and categories against the library, and read what it says of them."""
    if not COUNTRY_PATTERN.match(country):
        raise InvalidInput(f"{country!r} is not an ISO 3166-1 alpha-2 code (two capital letters)")
    if country not in holidays.list_supported_countries():
        raise InvalidInput(f"holidays {HOLIDAYS_VERSION} has no calendar for {country!r}")
    probe = holidays.country_holidays(country)
    if subdivision is not None and subdivision not in probe.subdivisions:
        aliases = getattr(probe, "subdivisions_aliases", {}) or {}
        hint = f" (did you mean {aliases[subdivision]!r}?)" if subdivision in aliases else ""
        raise InvalidInput(f"holidays {HOLIDAYS_VERSION} has no subdivision {subdivision!r} of {country}{hint}; "
                           f"known: {sorted(probe.subdivisions)}")
    unknown = sorted(set(categories) - set(probe.supported_categories))
    if not categories or unknown:
        raise InvalidInput(f"holidays {HOLIDAYS_VERSION} has no categories {unknown or '(none given)'} for "
                           f"{country}; known: {sorted(probe.supported_categories)}")
    # English names where the library has them: explanations are read by people, and the library's
    # "estimated" mark is only recognisable in one language.
    language = "en_US" if "en_US" in probe.supported_languages else None
    return _Entity(language=language, weekend=frozenset(probe.weekend), start_year=probe.start_year,
                   end_year=probe.end_year, categories=categories)


@lru_cache(maxsize=4096)
def _library_year(country: str, subdivision: str | None, categories: tuple[str, ...], year: int) -> Mapping[date, str]:
    entity = _entity(country, subdivision, categories)
    if not entity.start_year <= year <= entity.end_year:
        return MappingProxyType({})
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, categories=categories,
                                      language=entity.language)
    return MappingProxyType(dict(found.items()))
