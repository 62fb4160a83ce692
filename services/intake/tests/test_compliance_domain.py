"""The compliance domain, pure: decisions, every status × status with its checks, the state's report,
and trajectories with small cells suppressed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from comitas_intake.compliance import domain
from comitas_intake.compliance.rules import shipped_follow_up
from comitas_shared.errors import InvalidInput

FOLLOW_UP = shipped_follow_up()
ECHR, CCPR, CAT, IACHR = (FOLLOW_UP.for_body(b) for b in ("echr", "ccpr", "cat", "iachr_petition"))
TODAY = date(2027, 6, 1)
IND, GEN = domain.Kind.INDIVIDUAL, domain.Kind.GENERAL


def test_decisions_are_checked():
    domain.check_decision(CCPR, decided_on=date(2027, 1, 1), final_on=None, today=TODAY,
                          measures=[(IND, domain.MeasureType.COMPENSATION), (GEN, domain.MeasureType.LAW_REFORM)])
    for kwargs in ({"decided_on": date(2027, 7, 1)}, {"measures": []},
                   {"measures": [(GEN, domain.MeasureType.RELEASE)]}, {"final_on": date(2026, 1, 1)}):
        with pytest.raises(InvalidInput):
            domain.check_decision(CCPR, **({"decided_on": date(2027, 1, 1), "final_on": None, "today": TODAY,
                                            "measures": [(IND, domain.MeasureType.OTHER)]} | kwargs))
    with pytest.raises(InvalidInput):  # the ECtHR's report runs from finality
        domain.check_decision(ECHR, decided_on=date(2027, 1, 1), final_on=None, today=TODAY,
                              measures=[(IND, domain.MeasureType.COMPENSATION)])


@pytest.mark.parametrize("current", [None, *domain.STATUSES])
@pytest.mark.parametrize("new", domain.STATUSES)
def test_every_status_may_follow_every_other_in_order_and_from_a_known_source(current, new):
    change = domain.status_change(CCPR, current=current, last_as_of=date(2027, 2, 1), decided_on=date(2027, 1, 1),
                                  status=new, as_of=date(2027, 3, 1), source="state_report", grade="B", today=TODAY)
    assert change.from_status is current and change.to_status is new
    for kwargs, pointer in (({"as_of": date(2027, 1, 15)}, "/as_of"), ({"as_of": date(2026, 12, 1)}, "/as_of"),
                            ({"as_of": date(2027, 7, 1)}, "/as_of"), ({"source": "rule9_submission"}, "/source"),
                            ({"grade": "F"}, "/grade")):
        with pytest.raises(InvalidInput) as caught:
            domain.status_change(CCPR, **({"current": current, "last_as_of": date(2027, 2, 1),
                                           "decided_on": date(2027, 1, 1), "status": new, "as_of": date(2027, 3, 1),
                                           "source": "state_report", "grade": None, "today": TODAY} | kwargs))
        assert caught.value.extra["errors"][0]["pointer"] == pointer
    with pytest.raises(InvalidInput):  # CAT has no grading scale
        domain.status_change(CAT, current=current, last_as_of=None, decided_on=date(2027, 1, 1), status=new,
                             as_of=date(2027, 3, 1), source="state_report", grade="A", today=TODAY)


def test_the_state_s_report_falls_due_as_each_body_s_procedure_says_or_is_left_to_check():
    assert domain.report_due(CCPR, decided_on=date(2027, 1, 1), final_on=None) == date(2027, 6, 30)
    assert domain.report_due(CAT, decided_on=date(2027, 1, 1), final_on=None) == date(2027, 4, 1)
    assert domain.report_due(ECHR, decided_on=date(2027, 1, 1), final_on=date(2027, 4, 1)) == date(2027, 10, 1)
    assert domain.report_due(IACHR, decided_on=date(2027, 1, 1), final_on=None) is None
    now = datetime(2027, 1, 2, tzinfo=UTC)
    events = domain.follow_up_events(ECHR, filing_id="f", complaint_id="c", institution_id="i", mechanism="echr",
                                     state="TR", decided_on=date(2027, 1, 1), final_on=date(2027, 4, 1), now=now,
                                     source="t")
    assert events[0].data["last_day"] == "2027-10-01" and events[0].data["hard"] is False
    assert domain.follow_up_events(IACHR, filing_id="f", complaint_id="c", institution_id="i", mechanism="iachr",
                                   state="MX", decided_on=date(2027, 1, 1), final_on=None, now=now, source="t") == []


def measure(state="TR", body="ccpr", kind="individual", decided=date(2025, 3, 1), history=()):
    return domain.MeasureFacts(respondent_state=state, body=body, kind=kind, decided_on=decided,
                               history=tuple(history))


def test_trajectories_count_each_measure_s_status_at_each_year_end_and_suppress_small_cells():
    measures = ([measure(history=[(date(2025, 6, 1), domain.Status.PARTIAL), (date(2026, 6, 1), domain.Status.FULL)])
                 for _ in range(7)]
                + [measure(history=[(date(2026, 2, 1), domain.Status.PARTIAL)]) for _ in range(6)]
                + [measure(state="AM") for _ in range(3)])
    tables = {t.dimension: t for t in domain.trajectories(measures, today=date(2026, 12, 31))}
    rows = {(r.key, r.period): r for r in tables["respondent_state"].rows}
    # 2025: 6 not implemented, 7 partial, 0 full. The 0 is under 5 too; alone it would be the total minus
    # the others, so the smallest other cell goes with it.
    tr_2025 = {c.status: c.count for c in rows[("TR", "2025")].cells}
    assert rows[("TR", "2025")].total == 13
    assert tr_2025 == {domain.Status.NOT_IMPLEMENTED: None, domain.Status.PARTIAL: 7, domain.Status.FULL: None}
    # 2026: 0 not implemented, 6 partial, 7 full.
    tr_2026 = {c.status: c.count for c in rows[("TR", "2026")].cells}
    assert tr_2026 == {domain.Status.NOT_IMPLEMENTED: None, domain.Status.PARTIAL: None, domain.Status.FULL: 7}
    assert rows[("AM", "2025")].total is None and all(c.suppressed for c in rows[("AM", "2025")].cells)
    published = [c.count for t in tables.values() for r in t.rows for c in r.cells if not c.suppressed]
    assert all(v >= 5 for v in published)
    chart = domain.chart(tables["respondent_state"])
    assert chart["mark"] == "bar" and all(v["measures"] >= 5 for v in chart["data"]["values"])


def test_one_small_cell_in_a_row_with_a_total_takes_another_with_it():
    measures = ([measure(history=[(date(2025, 6, 1), domain.Status.FULL)]) for _ in range(3)]
                + [measure(history=[(date(2025, 6, 1), domain.Status.PARTIAL)]) for _ in range(6)]
                + [measure() for _ in range(7)])
    row = domain.trajectories(measures, today=date(2025, 12, 31))[0].rows[0]
    hidden = [c.status for c in row.cells if c.suppressed]
    assert row.total == 16 and hidden == [domain.Status.PARTIAL, domain.Status.FULL]
