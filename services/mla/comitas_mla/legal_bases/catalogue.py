"""Loading, checking and versioning the legal-basis data.

The data directory holds ``bases/<code>.toml`` (one file per legal basis), ``parties/<key>.toml`` (one
file per party list) and ``states.toml`` (time zones and languages). Every file is validated against
its model, and the files against each other (a list a basis names must exist, a basis another displaces
must exist …). The first problem stops start-up with a :class:`BasisFileError` naming the file and the
field path. The loaded set carries one version, ``<latest version date>+sha256.<12 hex>`` over the exact
bytes of every file, stored with each request so it shows which rules it was drafted under.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .rules import BasisRules, PartyList, StateFacts

DATA_DIR = Path(__file__).parent / "data"

Model = TypeVar("Model", bound=BaseModel)


class BasisFileError(ValueError):
    """A legal-basis, party-list or states file is malformed. The message names the file and the field."""

    def __init__(self, file: str, problems: Iterable[tuple[str, str]]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__("; ".join(f"{file}: {where}: {what}" for where, what in self.problems))


@dataclass(frozen=True)
class LegalBases:
    """Every legal basis, party list and state fact, with the combined version of their files."""

    bases: dict[str, BasisRules]
    parties: dict[str, PartyList]
    states: StateFacts
    version: str
    sha256: str
    file_versions: dict[str, str]

    def __getitem__(self, code: str) -> BasisRules:
        return self.bases[code]

    def __contains__(self, code: object) -> bool:
        return code in self.bases

    def time_zone_of(self, state: str) -> tuple[str, str | None]:
        """The IANA zone a state's central authority counts in, and a warning when it is a guess."""
        if state in self.states.time_zones:
            return self.states.time_zones[state], None
        zones = _iana_zones_by_state().get(state, ())
        if len(zones) == 1:
            return zones[0], None
        if zones:
            return zones[0], (f"{state} spans several time zones and the data does not say where its central "
                              f"authority sits; counted in {zones[0]}: unknown: check")
        return "UTC", f"no time zone known for {state}; counted in UTC: unknown: check"

    def languages_of(self, state: str) -> tuple[str, ...]:
        return self.states.languages.get(state, ())


def load_legal_bases(directory: Path | None = None) -> LegalBases:
    """Load and check the data in ``directory`` (default: the data shipped with the package)."""
    directory = directory or DATA_DIR
    base_files = _toml_files(directory / "bases")
    party_files = _toml_files(directory / "parties")
    states_file = directory / "states.toml"
    if not states_file.is_file():
        raise BasisFileError(str(states_file), [("<file>", "missing")])

    parties: dict[str, PartyList] = {}
    for path in party_files:
        found = _parse(path, PartyList)
        if found.key != path.stem:
            raise BasisFileError(path.name, [("key", f"{found.key!r} does not match the file name {path.stem!r}")])
        parties[found.key] = found
    bases: dict[str, BasisRules] = {}
    for path in base_files:
        rules = _parse(path, BasisRules)
        if rules.code != path.stem:
            raise BasisFileError(path.name, [("code", f"{rules.code!r} does not match the file name {path.stem!r}")])
        bases[rules.code] = rules
    states = _parse(states_file, StateFacts)
    for rules in bases.values():
        _check_references(rules, bases, parties)

    files = [*base_files, *party_files, states_file]
    versions = {f"bases/{code}": rules.version for code, rules in bases.items()}
    versions |= {f"parties/{key}": found.as_of.isoformat() for key, found in parties.items()}
    versions["states"] = states.version
    sha = _sha256(files)
    return LegalBases(bases=bases, parties=parties, states=states, version=f"{max(versions.values())}+sha256.{sha[:12]}",
                      sha256=sha, file_versions=versions)


def _check_references(rules: BasisRules, bases: dict[str, BasisRules], parties: dict[str, PartyList]) -> None:
    file = f"{rules.code}.toml"
    for index, key in enumerate(rules.parties.lists):
        if key not in parties:
            raise BasisFileError(file, [(f"parties.lists.{index}", f"no party list {key!r} in parties/")])
    for index, code in enumerate(rules.requires_also):
        if code not in bases or code == rules.code:
            raise BasisFileError(file, [(f"requires_also.{index}", f"no other basis {code!r}")])
    if rules.supplements is not None and (rules.supplements not in bases or rules.supplements == rules.code):
        raise BasisFileError(file, [("supplements", f"no other basis {rules.supplements!r}")])
    covered = {c.type for c in rules.coverage}
    for index, displacement in enumerate(rules.displaces):
        for position, code in enumerate(displacement.bases):
            if code not in bases or code == rules.code:
                raise BasisFileError(file, [(f"displaces.{index}.bases.{position}", f"no other basis {code!r}")])
        uncovered = sorted(str(a) for a in displacement.assistance if a not in covered)
        if uncovered:
            raise BasisFileError(file, [(f"displaces.{index}.assistance",
                                         f"displaces for what it does not cover itself: {', '.join(uncovered)}")])


def _toml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise BasisFileError(str(directory), [("<directory>", "not a directory")])
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise BasisFileError(str(directory), [("<directory>", "holds no .toml files")])
    return files


def _parse(path: Path, model: type[Model]) -> Model:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BasisFileError(path.name, [("<toml>", str(exc))]) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BasisFileError(path.name, [(_field_path(error["loc"]), error["msg"]) for error in exc.errors()]) from exc


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "<file>"


def _sha256(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.parent.name}/{path.name}".encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@cache
def _iana_zones_by_state() -> dict[str, tuple[str, ...]]:
    """IANA's own table of zones per country (``zone.tab``), from the pinned tzdata package."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    for line in table.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        zones.setdefault(fields[0], []).append(fields[2])
    return {state: tuple(found) for state, found in zones.items()}
