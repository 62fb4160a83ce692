"""The rules an intake process assesses with: loaded and validated once, at start-up.

A malformed rule file stops start-up (``RuleFileError`` names the file and the field). Changing the rules
means deploying new files and restarting; stored assessments keep the version they were made with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..admissibility import AcceptanceDataset, Catalogue, load_acceptances, load_catalogue


@dataclass(frozen=True)
class Rules:
    catalogue: Catalogue
    acceptances: AcceptanceDataset

    @property
    def version(self) -> str:
        return f"rules {self.catalogue.version}; acceptances {self.acceptances.version}"


def load_rules(rules_dir: str | None, acceptances_dir: str | None) -> Rules:
    return Rules(
        catalogue=load_catalogue(Path(rules_dir) if rules_dir else None),
        acceptances=load_acceptances(Path(acceptances_dir) if acceptances_dir else None),
    )
