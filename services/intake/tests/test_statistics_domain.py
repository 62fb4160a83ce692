"""Published statistics: no cell under 5 is shown, and no suppressed cell can be worked out from what is
published. The check is an attacker: it writes every linear equation the published tables allow (each
table's cells add up to its totals, the same totals in every table), then

1. solves them exactly (rational Gaussian elimination): no suppressed cell may be isolated by any
   linear combination of the equations;
2. bounds every suppressed cell by exact linear programming (rational simplex) with what a reader also
   knows (a listed category holds at least one complaint, and, when true of the data, a victim per
   complaint): no suppressed cell may be pinned to a single value.

It runs on hand-made tables and on generated datasets (hypothesis), and it is shown to catch a release
that suppresses only the small cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comitas_intake.statistics import domain
from comitas_intake.statistics.domain import Case, Cell, PublishedCell, PublishedTable, Release
from comitas_shared.errors import InvalidInput

MEASURES = ("complaints", "victims")


# --- an exact attacker -----------------------------------------------------------------------------

class Infeasible(Exception):
    pass


def _pivot(t: list[list[Fraction]], basis: list[int], row: int, col: int) -> None:
    p = t[row][col]
    t[row] = [v / p for v in t[row]]
    for i, other in enumerate(t):
        if i != row and other[col] != 0:
            f = other[col]
            t[i] = [a - f * b if b != 0 else a for a, b in zip(other, t[row], strict=True)]
    basis[row] = col


def _maximise(t: list[list[Fraction]], basis: list[int], cost: list[Fraction], allowed: range) -> bool:
    """Simplex with Bland's rule (no cycling) on tableau ``t``; False when unbounded."""
    while True:
        entering = None
        priced = [(cost[basis[i]], row) for i, row in enumerate(t) if cost[basis[i]] != 0]
        in_basis = set(basis)
        for j in allowed:
            if j in in_basis:
                continue
            reduced = cost[j] - sum((w * row[j] for w, row in priced if row[j] != 0), Fraction(0))
            if reduced > 0:
                entering = j
                break
        if entering is None:
            return True
        best: tuple[Fraction, int] | None = None
        for i, row in enumerate(t):
            if row[entering] > 0:
                ratio = row[-1] / row[entering]
                if best is None or ratio < best[0] or (ratio == best[0] and basis[i] < basis[best[1]]):
                    best = (ratio, i)
        if best is None:
            return False
        _pivot(t, basis, best[1], entering)


def lp_max(a: list[list[Fraction]], b: list[Fraction], c: list[Fraction]) -> Fraction | None:
    """max c·y subject to a·y = b, y >= 0, exactly; None when unbounded; Infeasible when empty."""
    m, n = len(a), len(c)
    rows = [(list(r), v) if v >= 0 else ([-x for x in r], -v) for r, v in zip(a, b, strict=True)]
    t = [r + [Fraction(int(i == k)) for k in range(m)] + [v] for i, (r, v) in enumerate(rows)]
    basis = [n + i for i in range(m)]
    phase1 = [Fraction(0)] * n + [Fraction(-1)] * m + [Fraction(0)]
    _maximise(t, basis, phase1, range(n + m))
    if any(basis[i] >= n and t[i][-1] != 0 for i in range(m)):
        raise Infeasible
    keep = []
    for i in range(m):
        if basis[i] >= n:
            col = next((j for j in range(n) if t[i][j] != 0), None)
            if col is None:
                continue  # a redundant equation
            _pivot(t, basis, i, col)
        keep.append(i)
    t, basis = [t[i] for i in keep], [basis[i] for i in keep]
    cost = list(c) + [Fraction(0)] * (m + 1)
    if not _maximise(t, basis, cost, range(n)):
        return None
    return sum((cost[basis[i]] * t[i][-1] for i in range(len(t))), Fraction(0))


def rank(rows: list[list[Fraction]]) -> int:
    rows = [list(r) for r in rows]
    r = 0
    for col in range(len(rows[0]) if rows else 0):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                f = rows[i][col] / rows[r][col]
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[r], strict=True)]
        r += 1
    return r


@dataclass
class Attack:
    """What a reader of the release can work out."""

    isolated: list[str]  # suppressed values that a linear combination of the equations isolates
    pinned: list[str]  # suppressed values whose every feasible value is the same
    ranges: dict[str, tuple[Fraction, Fraction | None]]
    feasible: bool


def attack(release: Release, *, victim_per_complaint: bool, total_hint: tuple[int, int] | None = None) -> Attack:
    """Every equation the release allows, solved. Unknowns: each suppressed cell's two counts, and each
    suppressed total. ``total_hint`` gives the attacker the true totals as an upper bound even when
    they are suppressed (a stronger attacker than the rule needs)."""
    names: list[str] = []
    lower: list[int] = []

    def var(name: str, lo: int) -> int:
        names.append(name)
        lower.append(lo)
        return len(names) - 1

    totals: dict[str, int | None] = {"complaints": release.total_complaints, "victims": release.total_victims}
    total_var = {m: var(f"total.{m}", 0) for m in MEASURES if totals[m] is None}
    cell_var: dict[tuple[str, str, str], int] = {}
    equations: list[tuple[dict[int, int], int]] = []  # coefficients, constant
    inequalities: list[dict[int, int]] = []  # coefficients · x >= 0
    for table in release.tables:
        if table.withheld:
            continue
        for measure in MEASURES:
            coeffs: dict[int, int] = {}
            constant = 0
            for cell in table.cells:
                value = getattr(cell, measure)
                if value is None:
                    lo = 1 if measure == "complaints" or victim_per_complaint else 0
                    index = var(f"{table.dimension}.{cell.key}.{measure}", lo)
                    cell_var[(table.dimension, cell.key, measure)] = index
                    coeffs[index] = 1
                else:
                    constant -= value
            if measure in total_var:
                coeffs[total_var[measure]] = -1
            else:
                constant += totals[measure] or 0
            if coeffs:
                equations.append((coeffs, constant))
            else:
                assert constant == 0 or table.dimension in ("respondent_state", "act_type")
        if victim_per_complaint:
            for cell in table.cells:
                if cell.suppressed:
                    inequalities.append({cell_var[(table.dimension, cell.key, "victims")]: 1,
                                         cell_var[(table.dimension, cell.key, "complaints")]: -1})
    # Bounds on hinted totals: total + slack = hint.
    bounded: list[tuple[dict[int, int], int]] = []
    if total_hint:
        bounded = [({j: 1}, total_hint[MEASURES.index(m)]) for m, j in total_var.items()]
    constraints: list[tuple[str, dict[int, int], int]] = (
        [("eq", c, k) for c, k in equations] + [("ge", c, 0) for c in inequalities]
        + [("le", c, k) for c, k in bounded])
    isolated: list[str] = []
    pinned: list[str] = []
    ranges: dict[str, tuple[Fraction, Fraction | None]] = {}
    for component in components(len(names), [c for _, c, _ in constraints]):
        mine = [(kind, c, k) for kind, c, k in constraints if set(c) & component]
        columns = sorted(component)
        solved = solve(columns, mine, names, lower)
        if solved is None:
            return Attack(isolated, pinned, ranges, False)
        isolated += solved.isolated
        pinned += solved.pinned
        ranges |= solved.ranges
    cells_only = [n for n in isolated if not n.startswith("total.")], [n for n in pinned if not n.startswith("total.")]
    return Attack(cells_only[0], cells_only[1], ranges, True)


def components(n: int, constraints: list[dict[int, int]]) -> list[set[int]]:
    """Groups of unknowns that share no constraint with each other: each is solved on its own."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for coeffs in constraints:
        first, *rest = list(coeffs) or [None]
        for other in rest:
            parent[find(other)] = find(first)  # type: ignore[arg-type]
    groups: dict[int, set[int]] = {}
    for j in range(n):
        groups.setdefault(find(j), set()).add(j)
    return list(groups.values())


def solve(columns: list[int], constraints: list[tuple[str, dict[int, int], int]], names: list[str],
          lower: list[int]) -> Attack | None:
    """One component: rank test on its equations, then exact bounds of each unknown; None if infeasible."""
    position = {j: i for i, j in enumerate(columns)}
    n = len(columns)
    equations = [(c, k) for kind, c, k in constraints if kind == "eq"]
    matrix = [[Fraction(c.get(j, 0)) for j in columns] for c, _ in equations]
    base = rank(matrix) if matrix else 0
    isolated = [names[j] for j in columns
                if matrix and rank([*matrix, [Fraction(int(k == j)) for k in columns]]) == base]
    slacks = [i for i, (kind, _, _) in enumerate(constraints) if kind != "eq"]
    width = n + len(slacks)
    a: list[list[Fraction]] = []
    b: list[Fraction] = []
    for i, (kind, coeffs, constant) in enumerate(constraints):
        row = [Fraction(0)] * width
        for j, v in coeffs.items():
            row[position[j]] = Fraction(v)
        if kind != "eq":
            row[n + slacks.index(i)] = Fraction(-1 if kind == "ge" else 1)
        a.append(row)
        b.append(Fraction(constant - sum(v * lower[j] for j, v in coeffs.items())))
    ranges: dict[str, tuple[Fraction, Fraction | None]] = {}
    pinned: list[str] = []
    if not a:
        return Attack(isolated, [], {names[j]: (Fraction(lower[j]), None) for j in columns}, True)
    try:
        for j in columns:
            up = [Fraction(int(k == position[j])) for k in range(width)]
            high = lp_max(a, b, up)
            low = -(lp_max(a, b, [-x for x in up]) or Fraction(0))
            ranges[names[j]] = (low + lower[j], None if high is None else high + lower[j])
            if high is not None and high - low < 1:
                pinned.append(names[j])
    except Infeasible:
        return None
    return Attack(isolated, pinned, ranges, True)


def assert_safe(release: Release, cases: list[Case]) -> None:
    threshold = release.threshold
    for total in (release.total_complaints, release.total_victims):
        assert total is None or total >= threshold
    for table in release.tables:
        assert table.withheld or table.total_complaints == release.total_complaints
        for cell in table.cells:
            assert (cell.complaints is None) == (cell.victims is None)
            for value in (cell.complaints, cell.victims):
                assert value is None or value >= threshold, (table.dimension, cell)
    per_complaint = all(c.victims >= 1 for c in cases)
    hint = (len(cases), sum(c.victims for c in cases))
    for total_hint in (None, hint) if release.total_complaints is None else (None,):
        result = attack(release, victim_per_complaint=per_complaint, total_hint=total_hint)
        assert not result.isolated, f"isolated by the equations: {result.isolated}"
        assert not result.pinned, f"pinned by the bounds: {result.pinned} {result.ranges}"


# --- the attacker works ----------------------------------------------------------------------------

def naive(cases: list[Case]) -> Release:
    """Primary suppression only: what the rule must not do."""
    totals = (len(cases), sum(c.victims for c in cases))
    tables = []
    for dimension in domain.DIMENSIONS:
        cells = tuple(PublishedCell(c.key, None, None) if c.complaints < 5 or c.victims < 5
                      else PublishedCell(c.key, c.complaints, c.victims) for c in domain.tabulate(cases, dimension))
        tables.append(PublishedTable(dimension, False, *totals, cells))
    return Release(5, *totals, tuple(tables))


def cases_of(*rows: tuple[str, str, str, str, int]) -> list[Case]:
    return [Case((state,), (act,), month, status, victims) for state, act, month, status, victims in rows]


def test_the_attacker_solves_a_release_with_primary_suppression_only():
    cases = cases_of(*[("FR", "torture", "2026-01", "received", 1)] * 9, ("DE", "torture", "2026-01", "received", 1))
    result = attack(naive(cases), victim_per_complaint=True)
    assert "respondent_state.DE.complaints" in result.isolated
    assert result.ranges["respondent_state.DE.complaints"] == (1, 1)


def test_the_attacker_uses_the_least_value_of_a_listed_category():
    # Two suppressed cells of one complaint each: no equation isolates either, but both must be 1.
    cases = cases_of(*[("FR", "torture", "2026-01", "received", 1)] * 8,
                     ("DE", "torture", "2026-01", "received", 1), ("IT", "torture", "2026-01", "received", 1))
    result = attack(naive(cases), victim_per_complaint=True)
    assert not [n for n in result.isolated if n.startswith("respondent_state")]
    assert "respondent_state.DE.complaints" in result.pinned


def test_the_linear_program_is_exact():
    f = Fraction
    # x + y = 7, x - y = 1 (x, y >= 0): x = 4
    assert lp_max([[f(1), f(1)], [f(1), f(-1)]], [f(7), f(1)], [f(1), f(0)]) == 4
    # x + y = 7: x in [0, 7]; unbounded in z
    assert lp_max([[f(1), f(1), f(0)]], [f(7)], [f(1), f(0), f(0)]) == 7
    assert lp_max([[f(1), f(1), f(0)]], [f(7)], [f(0), f(0), f(1)]) is None
    with pytest.raises(Infeasible):
        lp_max([[f(1), f(1)]], [f(-1)], [f(1), f(0)])


# --- the rule --------------------------------------------------------------------------------------

def test_a_lone_small_cell_takes_the_smallest_other_with_it():
    cells = [Cell("DE", 2, 2), Cell("FR", 40, 41), Cell("IT", 7, 9), Cell("ES", 9, 9)]
    hidden, withheld = domain.suppress(cells, (58, 61))
    assert not withheld and hidden == {"DE", "IT"}


def test_two_small_cells_that_would_both_be_pinned_take_a_third():
    cells = [Cell("DE", 1, 1), Cell("IT", 1, 1), Cell("FR", 40, 40), Cell("ES", 6, 6)]
    hidden, withheld = domain.suppress(cells, (48, 48))
    assert not withheld and hidden == {"DE", "IT", "ES"}


def test_a_table_of_single_complaints_is_withheld():
    cases = [Case((state,), ("torture",), "2026-01", "received", 1) for state in ("FR", "DE", "IT", "ES", "TR", "RU")]
    release = domain.publish(cases)
    by_state = next(t for t in release.tables if t.dimension == "respondent_state")
    assert by_state.withheld and by_state.cells == ()
    assert release.total_complaints == 6
    assert_safe(release, cases)


def test_fewer_than_five_complaints_publish_nothing():
    cases = cases_of(*[("FR", "torture", "2026-01", "received", 3)] * 4)
    release = domain.publish(cases)
    assert release.total_complaints is None and release.total_victims is None
    assert all(t.withheld and not t.cells for t in release.tables)
    # five complaints but four victims (complaints naming none): still nothing
    few_victims = [Case(("FR",), (), "2026-01", "received", int(i == 0) * 4) for i in range(5)]
    assert domain.publish(few_victims).total_complaints is None


def test_a_complaint_without_states_or_acts_counts_as_unspecified_and_several_count_in_each():
    cases = [Case((), (), "2026-01", "received", 1)] * 5 + [Case(("DE", "FR"), ("torture",), "2026-02", "active", 2)] * 5
    release = domain.publish(cases)
    by_state = {c.key: c for c in next(t for t in release.tables if t.dimension == "respondent_state").cells}
    assert by_state["unspecified"].complaints == 5 and by_state["FR"].complaints == by_state["DE"].complaints == 5
    assert_safe(release, cases)


def test_large_cells_are_published_as_they_are():
    cases = cases_of(*[("FR", "torture", "2026-01", "received", 2)] * 6, *[("DE", "ill_treatment", "2026-02", "closed", 1)] * 5)
    release = domain.publish(cases)
    month = next(t for t in release.tables if t.dimension == "month")
    assert [(c.key, c.complaints, c.victims) for c in month.cells] == [("2026-01", 6, 12), ("2026-02", 5, 5)]
    assert_safe(release, cases)


def test_cases_are_checked_and_normalised():
    case = domain.check_case(respondent_states=["fr", "FR", "de"], act_types=["torture"], month="2026-02",
                             status="received", victims=2)
    assert case.respondent_states == ("DE", "FR")
    for bad in ({"month": "2026-13"}, {"month": "February"}, {"victims": -1}, {"respondent_states": ["France"]},
                {"status": ""}, {"act_types": [""]}):
        arguments = {"respondent_states": ["FR"], "act_types": ["torture"], "month": "2026-02", "status": "received",
                     "victims": 1} | bad
        with pytest.raises(InvalidInput):
            domain.check_case(**arguments)  # type: ignore[arg-type]


# --- generated datasets ----------------------------------------------------------------------------

STATES = ["FR", "DE", "IT", "ES", "TR", "RU", "XK"]
ACTS = ["torture", "ill_treatment", "arbitrary_detention", "enforced_disappearance"]
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
STATUSES = ["received", "under_assessment", "active", "closed", "withdrawn"]


def weighted(options: list[str]) -> st.SearchStrategy[str]:
    """Skewed towards the first options, so datasets have both large and small cells."""
    return st.one_of(*[st.just(o) for o in options[:2]] * 3, *[st.just(o) for o in options])


single_valued = st.builds(
    lambda s, a, m, t, v: Case((s,), (a,), m, t, v),
    weighted(STATES), weighted(ACTS), weighted(MONTHS), weighted(STATUSES), st.integers(1, 4))

multi_valued = st.builds(
    lambda s, a, m, t, v: domain.check_case(respondent_states=s, act_types=a, month=m, status=t, victims=v),
    st.lists(weighted(STATES), max_size=2), st.lists(weighted(ACTS), max_size=2), weighted(MONTHS),
    weighted(STATUSES), st.integers(0, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(single_valued, min_size=0, max_size=60))
def test_generated_single_valued_datasets_cannot_be_solved(cases):
    release = domain.publish(cases)
    assert_safe(release, cases)
    # The attacker's equations hold exactly here: the true values must be among the feasible ones.
    result = attack(release, victim_per_complaint=True)
    assert result.feasible
    for table in release.tables:
        truth = {c.key: c for c in domain.tabulate(cases, table.dimension)}
        for cell in table.cells:
            if cell.suppressed:
                low, high = result.ranges[f"{table.dimension}.{cell.key}.complaints"]
                assert low <= truth[cell.key].complaints and (high is None or truth[cell.key].complaints <= high)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(multi_valued, min_size=0, max_size=50))
def test_generated_datasets_with_several_states_and_acts_cannot_be_solved(cases):
    assert_safe(domain.publish(cases), cases)
