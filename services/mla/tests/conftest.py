"""Fixtures of mla's tests (helpers are in mla_testkit.py)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mla_testkit import Authorities

from comitas_mla.legal_bases.catalogue import DATA_DIR, LegalBases, load_legal_bases


@pytest.fixture(scope="session")
def bases() -> LegalBases:
    return load_legal_bases()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the shipped legal-basis data that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


@pytest.fixture
async def authorities(stack: Any) -> AsyncIterator[Authorities]:
    found = Authorities(stack)
    yield found
    for api in found.opened:
        await api.aclose()


@pytest.fixture
async def receivers() -> AsyncIterator[Any]:
    """Three webhook receivers: one per side of a request, and one for a third institution."""
    from mla_testkit import Receiver

    found = (Receiver(), Receiver(), Receiver())
    for receiver in found:
        await receiver.served.start()
    yield found
    for receiver in found:
        await receiver.served.stop()
