"""Loading and validating the vocabularies kept as data (TOML), once, with a version per file."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DATA_DIR = Path(__file__).parent / "data"
CODE = r"^(\d\d)+$"


class VocabularyFileError(ValueError):
    """A vocabulary file is malformed; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(_Strict):
    name: str
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    structure: str | None = None
    attribution: str | None = None


class Term(_Strict):
    """One type of act. ``source`` says whose the term is: "huridocs" (structure and term from the
    HURIDOCS list) or "comitas" (our extension below it)."""

    code: str = Field(pattern=CODE, max_length=12)
    label: str = Field(min_length=1)
    source: Literal["huridocs", "comitas"]
    retired: bool = False

    @property
    def parent(self) -> str | None:
        return self.code[:-2] or None

    @property
    def level(self) -> int:
        return len(self.code) // 2


class ActsFile(_Strict):
    meta: Meta
    term: tuple[Term, ...]

    @model_validator(mode="after")
    def _tree(self) -> ActsFile:
        codes = [t.code for t in self.term]
        duplicated = sorted({c for c in codes if codes.count(c) > 1})
        if duplicated:
            raise ValueError(f"codes used twice: {', '.join(duplicated)}")
        orphans = [t.code for t in self.term if t.parent is not None and t.parent not in codes]
        if orphans:
            raise ValueError(f"codes without a parent term: {', '.join(orphans)}")
        return self


class Article(_Strict):
    instrument: str
    article: str
    title: str


class Instrument(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9-]*$")
    name: str
    system: Literal["un", "coe", "oas", "au"]
    cite: str = Field(description="how the admissibility engine reads the right; {article} is replaced")
    mechanisms: tuple[str, ...] = Field(min_length=1)
    status: Literal["reference", "to_check"]
    articles: dict[str, str] = Field(min_length=1)

    @field_validator("cite")
    @classmethod
    def _has_article(cls, value: str) -> str:
        if "{article}" not in value:
            raise ValueError("cite must contain {article}")
        return value

    def citation(self, article: str) -> str:
        return self.cite.replace("{article}", article)


class RightsFile(_Strict):
    meta: Meta
    instrument: tuple[Instrument, ...]


@dataclass(frozen=True)
class ActVocabulary:
    terms: dict[str, Term]
    meta: Meta
    version: str

    def get(self, code: str) -> Term | None:
        return self.terms.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self.terms

    def ancestors(self, code: str) -> list[Term]:
        """The term's broader terms, top level first (not the term itself)."""
        return [self.terms[code[:end]] for end in range(2, len(code), 2) if code[:end] in self.terms]


@dataclass(frozen=True)
class RightsCatalogue:
    instruments: dict[str, Instrument]
    meta: Meta
    version: str

    def instrument(self, code: str) -> Instrument | None:
        return self.instruments.get(code)

    def article(self, instrument: str, article: str) -> Article | None:
        found = self.instruments.get(instrument)
        if found is None or article not in found.articles:
            return None
        return Article(instrument=instrument, article=article, title=found.articles[article])


@dataclass(frozen=True)
class Vocabularies:
    acts: ActVocabulary
    rights: RightsCatalogue

    @property
    def version(self) -> str:
        return f"acts {self.acts.version}; rights {self.rights.version}"


def _read(path: Path) -> tuple[dict[str, object], str]:
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyFileError(f"{path.name}: not valid TOML: {exc}") from exc
    return data, hashlib.sha256(raw).hexdigest()[:12]


def _problem(path: Path, exc: ValidationError) -> VocabularyFileError:
    where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors())
    return VocabularyFileError(f"{path.name}: {where}")


def load(directory: Path | None = None) -> Vocabularies:
    """Read and validate the vocabulary files in ``directory`` (default: the shipped ones)."""
    directory = directory or DATA_DIR
    acts_path, rights_path = directory / "types_of_acts.toml", directory / "rights.toml"
    acts_data, acts_sha = _read(acts_path)
    rights_data, rights_sha = _read(rights_path)
    try:
        acts = ActsFile.model_validate(acts_data)
    except ValidationError as exc:
        raise _problem(acts_path, exc) from exc
    try:
        rights = RightsFile.model_validate(rights_data)
    except ValidationError as exc:
        raise _problem(rights_path, exc) from exc
    codes = [i.code for i in rights.instrument]
    if len(codes) != len(set(codes)):
        raise VocabularyFileError(f"{rights_path.name}: an instrument code is used twice")
    return Vocabularies(
        acts=ActVocabulary(terms={t.code: t for t in acts.term}, meta=acts.meta,
                           version=f"{acts.meta.version}+sha256.{acts_sha}"),
        rights=RightsCatalogue(instruments={i.code: i for i in rights.instrument}, meta=rights.meta,
                               version=f"{rights.meta.version}+sha256.{rights_sha}"),
    )


@cache
def shipped() -> Vocabularies:
    """The vocabularies shipped with the package, loaded once per process."""
    return load()
