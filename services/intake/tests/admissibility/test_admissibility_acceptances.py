"""Which states accepted what: complete and incomplete lists, known refusals, dated withdrawals."""

from __future__ import annotations

from datetime import date

import pytest

from comitas_intake.admissibility import AcceptanceDataset, Tri
from comitas_intake.admissibility.acceptances import all_of, any_of

TODAY = date(2026, 11, 21)


def ask(acceptances: AcceptanceDataset, key: str, state: str, *, events: date | None = date(2024, 1, 1),
        filed: date = TODAY):
    return acceptances.answer(key, state, events_date=events, filing_date=filed)


def test_a_complete_list_answers_yes_and_no(acceptances: AcceptanceDataset) -> None:
    assert ask(acceptances, "echr_party", "FR").answer is Tri.YES
    refused = ask(acceptances, "echr_party", "US")
    assert refused.answer is Tri.NO
    assert "not on the complete list" in refused.reason


def test_an_incomplete_list_never_guesses(acceptances: AcceptanceDataset) -> None:
    assert not acceptances.lists["cat_art22"].complete
    answer = ask(acceptances, "cat_art22", "KE")
    assert answer.answer is Tri.UNKNOWN
    assert answer.reason.startswith("unknown: check")


def test_an_incomplete_list_still_knows_its_refusals(acceptances: AcceptanceDataset) -> None:
    answer = ask(acceptances, "iccpr_op1", "US")
    assert answer.answer is Tri.NO
    assert "has not accepted" in answer.reason


def test_an_unknown_list_is_unknown(acceptances: AcceptanceDataset) -> None:
    answer = ask(acceptances, "no_such_procedure", "FR")
    assert answer.answer is Tri.UNKNOWN and "no acceptance data" in answer.reason


@pytest.mark.parametrize(
    ("events", "expected"),
    [(date(2022, 9, 15), Tri.YES), (date(2022, 9, 16), Tri.NO), (date(2023, 6, 1), Tri.NO), (None, Tri.UNKNOWN)],
)
def test_russia_answers_for_events_before_it_left_the_convention(acceptances: AcceptanceDataset, events: date | None,
                                                                 expected: Tri) -> None:
    answer = ask(acceptances, "echr_party", "RU", events=events)
    assert answer.answer is expected
    assert "2022-09-16" in answer.reason


@pytest.mark.parametrize(
    ("state", "filed", "expected"),
    [
        ("RW", date(2017, 2, 28), Tri.YES),
        ("RW", date(2017, 3, 1), Tri.NO),
        ("TZ", date(2020, 11, 21), Tri.YES),
        ("TZ", date(2020, 11, 22), Tri.NO),
        ("BJ", date(2021, 3, 24), Tri.YES),
        ("BJ", TODAY, Tri.NO),
        ("CI", date(2021, 4, 28), Tri.YES),
        ("CI", TODAY, Tri.NO),
    ],
)
def test_african_court_withdrawals_bar_filings_from_their_effective_date(acceptances: AcceptanceDataset, state: str,
                                                                         filed: date, expected: Tri) -> None:
    # Events long after the withdrawal do not matter: the filing date does.
    answer = ask(acceptances, "afchpr_art34_6_declaration", state, events=date(2024, 1, 1), filed=filed)
    assert answer.answer is expected, answer.reason


def test_a_doubtful_state_is_always_checked(acceptances: AcceptanceDataset) -> None:
    answer = ask(acceptances, "oas_member", "VE")
    assert answer.answer is Tri.UNKNOWN and answer.reason.startswith("unknown: check")


def test_three_valued_combinations() -> None:
    assert all_of([]) is Tri.YES and any_of([]) is Tri.YES
    assert all_of([Tri.YES, Tri.UNKNOWN]) is Tri.UNKNOWN
    assert all_of([Tri.UNKNOWN, Tri.NO]) is Tri.NO
    assert any_of([Tri.NO, Tri.UNKNOWN]) is Tri.UNKNOWN
    assert any_of([Tri.NO, Tri.YES]) is Tri.YES
    assert any_of([Tri.NO, Tri.NO]) is Tri.NO
