"""Fixtures for the admissibility domain tests: the shipped rules, an assessment against them and a builder
for complaint facts."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from comitas_intake.admissibility import (
    AcceptanceDataset,
    Assessment,
    Catalogue,
    ComplaintFacts,
    DomesticRemedy,
    assess,
    load_acceptances,
    load_catalogue,
)
from comitas_intake.admissibility.catalogue import ACCEPTANCES_DIR, MECHANISMS_DIR


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def acceptances() -> AcceptanceDataset:
    return load_acceptances()


@pytest.fixture
def run(catalogue: Catalogue, acceptances: AcceptanceDataset) -> Callable[[ComplaintFacts, date], Assessment]:
    """``run(facts, today)`` assesses against the shipped rules and acceptance lists."""
    def run(complaint: ComplaintFacts, today: date) -> Assessment:
        return assess(complaint, catalogue=catalogue, acceptances=acceptances, today=today)

    return run


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A private, editable copy of the shipped mechanism rules."""
    return Path(shutil.copytree(MECHANISMS_DIR, tmp_path / "mechanisms"))


@pytest.fixture
def acceptances_dir(tmp_path: Path) -> Path:
    """A private, editable copy of the shipped acceptance lists."""
    return Path(shutil.copytree(ACCEPTANCES_DIR, tmp_path / "acceptances"))


def build_facts(**overrides: Any) -> ComplaintFacts:
    """An individual victim's complaint against France, remedies exhausted on 31 October 2023."""
    values: dict[str, Any] = {
        "respondent_states": ["FR"],
        "domestic_remedies": [DomesticRemedy(description="Conseil d'Etat", exhausted=True,
                                             final_decision_date=date(2023, 10, 31),
                                             notification_date=date(2023, 11, 6))],
        "rights_invoked": ["ECHR art 3", "ICCPR art 7", "CAT art 3"],
        "filer_kind": "individual",
        "victim_is_filer": True,
        "events_date": date(2023, 5, 1),
    }
    values.update(overrides)
    return ComplaintFacts(**values)


@pytest.fixture
def make_facts() -> Callable[..., ComplaintFacts]:
    """``make_facts(**overrides)`` builds :class:`ComplaintFacts` from a plain French case."""
    return build_facts
