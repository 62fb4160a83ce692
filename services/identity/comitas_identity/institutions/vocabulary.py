"""The mandate subject areas, kept as data (``data/subject_areas.toml``), loaded and checked once."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from comitas_shared import datafiles

DATA_FILE = Path(__file__).parent / "data" / "subject_areas.toml"
# The top-level codes of intake's "Types of acts" (HURIDOCS Micro-thesauri list 4), which an area maps
# to; "*" is every one of them.
HURIDOCS_TOP_LEVEL = frozenset(
    [f"{n:02d}" for n in range(1, 18)] + [str(n) for n in range(30, 39)] + [str(n) for n in range(50, 57)]
    + [str(n) for n in range(70, 74)] + ["90", "99"])


class VocabularyFileError(ValueError):
    """The subject areas file is malformed; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(_Strict):
    name: str
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


class SubjectArea(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    label: str = Field(min_length=1)
    acts: tuple[str, ...]
    sources: tuple[str, ...] = Field(min_length=1)
    status: Literal["reference", "to_check"]
    retired: bool = False

    @field_validator("acts")
    @classmethod
    def _known_acts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "*" in value:
            if len(value) != 1:
                raise ValueError('"*" (every type of act) stands alone')
            return value
        unknown = sorted(set(value) - HURIDOCS_TOP_LEVEL)
        if unknown:
            raise ValueError(f"not top-level codes of the Types of acts: {', '.join(unknown)}")
        return value

    @property
    def all_acts(self) -> bool:
        return self.acts == ("*",)


class _File(_Strict):
    meta: Meta
    area: tuple[SubjectArea, ...] = Field(min_length=1)


@dataclass(frozen=True)
class SubjectAreas:
    areas: dict[str, SubjectArea]
    version: str

    def __contains__(self, code: object) -> bool:
        return code in self.areas

    @property
    def usable(self) -> frozenset[str]:
        """Codes an entry may newly take (retired ones stay readable, not choosable)."""
        return frozenset(code for code, area in self.areas.items() if not area.retired)


def load(path: Path = DATA_FILE) -> SubjectAreas:
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyFileError(f"{path.name}: not valid TOML: {exc}") from exc
    parsed = datafiles.validate(_File, data, path.name, VocabularyFileError)
    codes = [a.code for a in parsed.area]
    if len(codes) != len(set(codes)):
        raise VocabularyFileError(f"{path.name}: a code is used twice")
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return SubjectAreas(areas={a.code: a for a in parsed.area}, version=f"{parsed.meta.version}+sha256.{digest}")


@cache
def shipped() -> SubjectAreas:
    """The subject areas shipped with the package, loaded once per process."""
    return load()
