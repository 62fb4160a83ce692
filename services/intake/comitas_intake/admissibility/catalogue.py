"""Loading and versioning the rule files and the acceptance dataset.

Both loaders read a directory of TOML files, validate every file against its pydantic model and
fail with a :class:`RuleFileError` naming the file and the field path. Each loaded set carries a
combined version, ``<latest version date>+<sha256 prefix>`` over the exact bytes of its files, so
an assessment records precisely which rules it applied.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .acceptances import AcceptanceDataset, AcceptanceList
from .rules import MechanismRules

DATA_DIR = Path(__file__).parent / "data"
MECHANISMS_DIR = DATA_DIR / "mechanisms"
ACCEPTANCES_DIR = DATA_DIR / "acceptances"

Model = TypeVar("Model", bound=BaseModel)


class RuleFileError(ValueError):
    """A rule or acceptance file is malformed. The message names the file and the field path."""

    def __init__(self, file: str, problems: Iterable[tuple[str, str]]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__("; ".join(f"{file}: {where}: {what}" for where, what in self.problems))


@dataclass(frozen=True)
class Catalogue:
    """Every mechanism's rules, keyed by mechanism code, with the combined version."""

    mechanisms: dict[str, MechanismRules]
    version: str
    sha256: str
    file_versions: dict[str, str]

    def __getitem__(self, code: str) -> MechanismRules:
        return self.mechanisms[code]

    def __contains__(self, code: object) -> bool:
        return code in self.mechanisms

    def codes(self) -> list[str]:
        return list(self.mechanisms)


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Load and validate every ``<code>.toml`` in ``directory`` (default: the shipped rules)."""
    directory = directory or MECHANISMS_DIR
    files = _toml_files(directory)
    mechanisms: dict[str, MechanismRules] = {}
    for path in files:
        rules = _parse(path, MechanismRules)
        if rules.code != path.stem:
            raise RuleFileError(path.name, [("code", f"{rules.code!r} does not match the file name {path.stem!r}")])
        mechanisms[rules.code] = rules
    versions = {code: rules.version for code, rules in mechanisms.items()}
    sha = _sha256(files)
    return Catalogue(mechanisms=mechanisms, version=_combined_version(versions.values(), sha), sha256=sha,
                     file_versions=versions)


def load_acceptances(directory: Path | None = None) -> AcceptanceDataset:
    """Load and validate every ``<key>.toml`` acceptance list in ``directory`` (default: shipped data)."""
    directory = directory or ACCEPTANCES_DIR
    files = _toml_files(directory)
    lists: dict[str, AcceptanceList] = {}
    for path in files:
        found = _parse(path, AcceptanceList)
        if found.key != path.stem:
            raise RuleFileError(path.name, [("key", f"{found.key!r} does not match the file name {path.stem!r}")])
        lists[found.key] = found
    versions = {key: found.as_of.isoformat() for key, found in lists.items()}
    sha = _sha256(files)
    return AcceptanceDataset(lists=lists, version=_combined_version(versions.values(), sha), sha256=sha,
                             file_versions=versions)


def _toml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise RuleFileError(str(directory), [("<directory>", "not a directory")])
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise RuleFileError(str(directory), [("<directory>", "holds no .toml files")])
    return files


def _parse(path: Path, model: type[Model]) -> Model:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(path.name, [("<toml>", str(exc))]) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RuleFileError(path.name, [(_field_path(error["loc"]), error["msg"]) for error in exc.errors()]) from exc


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "<file>"


def _sha256(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _combined_version(versions: Iterable[str], sha: str) -> str:
    return f"{max(versions)}+sha256.{sha[:12]}"


@cache
def shipped_procedure_codes() -> tuple[str, ...]:
    """:func:`procedure_codes` of the shipped rules: the API's list of known procedures."""
    return tuple(procedure_codes(load_catalogue()))


def procedure_codes(catalogue: Catalogue) -> list[str]:
    """The codes a complaint's "same matter before another body" may name: every mechanism of the
    catalogue, and every other procedure its non-duplication rules name (the UN Human Rights Council's
    complaint procedure, the WGEID …), since those are the only ones the engine can reason about."""
    codes = set(catalogue.mechanisms)
    for rules in catalogue.mechanisms.values():
        codes |= {entry.mechanism for entry in rules.non_duplication.not_counted}
    return sorted(codes)
