"""Published statistics: a fixed set of one-way tables with small cells suppressed so that no
suppressed cell can be worked out from what is published. No I/O.

The tables count complaints and their alleged victims by respondent state, by type of act, by month
and by status. Every table's cells are published with the same totals (all complaints, all victims), so
whoever reads them can write, for each table, "the cells add up to the total" and solve it.

- **Primary suppression**: a category with fewer than ``threshold`` complaints or victims (DESIGN §6:
  statistics that leave the system suppress cells under 5 persons) is published as suppressed, both
  its counts together.
- **Secondary suppression**, table by table: with the total known, the suppressed cells of a table add
  up to a known sum S. One suppressed cell alone would be S itself; k suppressed cells each at least 1
  (a category is listed only when it holds a complaint) all equal 1 when S = k. So more cells are
  suppressed, the smallest first, until k >= 2 and S - (k - 1) >= threshold for both counts: each
  suppressed cell could then be as large as the threshold, so the reader cannot even bound it below it.
- If even suppressing every category of a table leaves its cells derivable (say 6 complaints about 6
  different states, one each), the table is withheld: its categories are not listed at all.
- If a total is under the threshold, every table is withheld and the totals too.
- A complaint naming several respondent states (or acts) counts once in each; one naming none counts
  as "unspecified". Such a table adds up to more than the total, but it is protected as if it added up
  exactly, since a reader could not tell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from comitas_shared.errors import InvalidInput

THRESHOLD = 5
Dimension = Literal["respondent_state", "act_type", "month", "status"]
DIMENSIONS: tuple[Dimension, ...] = ("respondent_state", "act_type", "month", "status")
UNSPECIFIED = "unspecified"
# The least a listed category can hold, as a reader may assume it (for victims too: protecting against
# the reader who assumes every complaint names a victim protects against the one who does not).
LOWER_BOUND = 1

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_STATE = re.compile(r"^[A-Z0-9]{2,4}$")


@dataclass(frozen=True)
class Case:
    """One complaint as the statistics know it: no identity, no free text, nothing that names anyone."""

    respondent_states: tuple[str, ...]
    act_types: tuple[str, ...]
    month: str
    status: str
    victims: int


def check_case(*, respondent_states: Iterable[str], act_types: Iterable[str], month: str, status: str,
               victims: int) -> Case:
    """The case, normalised (codes upper-cased, lists sorted without repeats), or InvalidInput."""
    states = tuple(sorted({s.strip().upper() for s in respondent_states}))
    bad = [s for s in states if not _STATE.match(s)]
    if bad:
        raise InvalidInput(f"respondent_states: not country codes: {', '.join(bad)}", slug="invalid-statistics-case")
    acts = tuple(sorted({a.strip() for a in act_types}))
    if any(not a or len(a) > 64 for a in acts):
        raise InvalidInput("act_types: codes of 1 to 64 characters", slug="invalid-statistics-case")
    if not _MONTH.match(month):
        raise InvalidInput(f"month: YYYY-MM expected, got {month!r}", slug="invalid-statistics-case")
    check_status(status)
    if victims < 0:
        raise InvalidInput("victims: not negative", slug="invalid-statistics-case")
    return Case(respondent_states=states, act_types=acts, month=month, status=status, victims=victims)


def check_status(status: str) -> str:
    """A case's status as counted, or InvalidInput."""
    if not status or len(status) > 32:
        raise InvalidInput("status: 1 to 32 characters", slug="invalid-statistics-case")
    return status


@dataclass(frozen=True)
class Cell:
    key: str
    complaints: int
    victims: int


def categories(case: Case, dimension: Dimension) -> tuple[str, ...]:
    """The categories of ``dimension`` a case counts in (at least one)."""
    if dimension == "respondent_state":
        return case.respondent_states or (UNSPECIFIED,)
    if dimension == "act_type":
        return case.act_types or (UNSPECIFIED,)
    if dimension == "month":
        return (case.month,)
    return (case.status,)


def tabulate(cases: Iterable[Case], dimension: Dimension) -> list[Cell]:
    """Complaints and victims per category of ``dimension``, categories in order."""
    complaints: dict[str, int] = {}
    victims: dict[str, int] = {}
    for case in cases:
        for key in categories(case, dimension):
            complaints[key] = complaints.get(key, 0) + 1
            victims[key] = victims.get(key, 0) + case.victims
    return [Cell(key, complaints[key], victims[key]) for key in sorted(complaints)]


# --- suppression -----------------------------------------------------------------------------------

def _hidden_sums(cells: Sequence[Cell], hidden: set[str], totals: tuple[int, int]) -> tuple[int, int]:
    """What a reader who takes the table to add up to the totals computes for its suppressed cells."""
    shown = [c for c in cells if c.key not in hidden]
    return totals[0] - sum(c.complaints for c in shown), totals[1] - sum(c.victims for c in shown)


def protected(k: int, sums: tuple[int, int], threshold: int) -> bool:
    """Whether k suppressed cells adding up to ``sums`` are protected: none alone, and each could be as
    large as the threshold (the others being at their least)."""
    if k == 0:
        return True
    return k >= 2 and all(s - (k - 1) * LOWER_BOUND >= threshold for s in sums)


def derivable(k: int, sums: tuple[int, int]) -> bool:
    """Whether some of k suppressed cells adding up to ``sums`` can be worked out exactly: a single one
    is its sum; several are when they must all sit at their least value."""
    if k == 0:
        return False
    return k == 1 or any(s <= k * LOWER_BOUND for s in sums)


def suppress(cells: Sequence[Cell], totals: tuple[int, int], threshold: int = THRESHOLD) -> tuple[frozenset[str], bool]:
    """The categories of one table to suppress, and whether the whole table must be withheld instead.

    Primary: every category under the threshold in either count. Secondary: the smallest published
    category, again and again, until the suppressed ones are :func:`protected` (or none is left)."""
    hidden = {c.key for c in cells if c.complaints < threshold or c.victims < threshold}
    while not protected(len(hidden), _hidden_sums(cells, hidden, totals), threshold):
        shown = sorted((c for c in cells if c.key not in hidden), key=lambda c: (c.complaints, c.victims, c.key))
        if not shown:
            break
        hidden.add(shown[0].key)
    if derivable(len(hidden), _hidden_sums(cells, hidden, totals)):
        return frozenset(c.key for c in cells), True
    return frozenset(hidden), False


# --- the release -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PublishedCell:
    key: str
    complaints: int | None
    victims: int | None

    @property
    def suppressed(self) -> bool:
        return self.complaints is None


@dataclass(frozen=True)
class PublishedTable:
    dimension: Dimension
    withheld: bool
    total_complaints: int | None
    total_victims: int | None
    cells: tuple[PublishedCell, ...]


@dataclass(frozen=True)
class Release:
    threshold: int
    total_complaints: int | None
    total_victims: int | None
    tables: tuple[PublishedTable, ...]


def publish(cases: Iterable[Case], threshold: int = THRESHOLD) -> Release:
    """The fixed set of tables over ``cases``, suppressed. Nothing else is computed: no filter, no other
    breakdown, so no two answers can be subtracted from each other."""
    every = list(cases)
    totals = (len(every), sum(c.victims for c in every))
    if min(totals) < threshold:
        withheld = tuple(PublishedTable(d, True, None, None, ()) for d in DIMENSIONS)
        return Release(threshold, None, None, withheld)
    tables = []
    for dimension in DIMENSIONS:
        cells = tabulate(every, dimension)
        hidden, withheld_table = suppress(cells, totals, threshold)
        shown = () if withheld_table else tuple(
            PublishedCell(c.key, None, None) if c.key in hidden else PublishedCell(c.key, c.complaints, c.victims)
            for c in cells)
        tables.append(PublishedTable(dimension, withheld_table, totals[0], totals[1], shown))
    return Release(threshold, totals[0], totals[1], tuple(tables))
