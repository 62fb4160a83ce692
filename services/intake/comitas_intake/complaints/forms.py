"""What each forum's own form requires of a complaint, kept as data (``data/forms/<forum>.toml``):
every item cites its rule, its source and how sure we are of it, and names the check that reads the
complaint for it (the checks are in ``domain.py``). Loaded and validated once."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

FORMS_DIR = Path(__file__).parent / "data" / "forms"

CHECKS = frozenset({
    "victims", "victims_field", "victim_named_if_possible", "author_field", "author_contact", "ngo_petitioner",
    "representative_field", "authority_signed", "authority_or_justification", "respondent_states", "facts",
    "incidents_dated", "rights", "exhaustion", "remedy_date", "other_procedures", "disclosure_to_state", "relief",
    "language", "signed", "actor_role",
})


class FormFileError(ValueError):
    """A form file is malformed; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requirement(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    item: str = Field(description="the item as the rule numbers it, e.g. (a) or 4")
    requirement: str
    check: str
    params: dict[str, Any] = Field(default_factory=dict)
    provision: str
    source: str
    status: Literal["confirmed", "partial", "unconfirmed"]
    level: Literal["required", "if_possible"] = "required"

    @field_validator("check")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CHECKS:
            raise ValueError(f"unknown check {value!r} (known: {', '.join(sorted(CHECKS))})")
        return value


class Form(_Strict):
    forum: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    note: str | None = None
    requirement: tuple[Requirement, ...] = Field(min_length=1)


def load_forms(directory: Path | None = None) -> dict[str, Form]:
    forms: dict[str, Form] = {}
    for path in sorted((directory or FORMS_DIR).glob("*.toml")):
        try:
            form = Form.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise FormFileError(f"{path.name}: not valid TOML: {exc}") from exc
        except ValidationError as exc:
            where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise FormFileError(f"{path.name}: {where}") from exc
        if form.forum != path.stem:
            raise FormFileError(f"{path.name}: forum {form.forum!r} does not match the file name")
        forms[form.forum] = form
    return forms


@cache
def shipped_forms() -> dict[str, Form]:
    return load_forms()
