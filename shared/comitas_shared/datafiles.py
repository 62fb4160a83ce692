"""Data files (legal rules, vocabularies) read into pydantic models: a malformed file stops start-up with
an error naming the file and the field, never a bare traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path.name}: not valid TOML: {exc}") from exc


def validate(model: type[M], data: Any, name: str, error: type[Exception]) -> M:
    """``data`` as ``model``; ``error`` says ``<name>: <field path>: <message>; …`` otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise error(f"{name}: {where}") from exc


def load_toml_model(model: type[M], path: Path, error: type[Exception]) -> M:
    return validate(model, read_toml(path, error), path.name, error)
