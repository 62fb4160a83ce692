"""The steps of each body's proceedings as data (``data/steps.toml``): what each step opens (a time
limit, with its rule, or one the body sets in its letter) and which limits it meets; the channels an
interim-measures request may take. Loaded and validated once (ADR 0010, 0020)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from comitas_shared.datafiles import load_toml_model

DATA = Path(__file__).parent / "data" / "steps.toml"
Status = Literal["confirmed", "partial", "unconfirmed"]


class StepsFileError(ValueError):
    """The steps file is malformed; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Strict):
    provision: str
    source: str
    status: Status


class Limit(_Strict):
    deadline: str = Field(pattern=r"^[a-z][a-z_]*$")
    label: str
    amount: int | None = Field(None, ge=1)
    unit: Literal["calendar_days", "weeks", "months"] | None = None
    set_by_body: bool = False
    provision: str
    source: str
    status: Status

    @model_validator(mode="after")
    def _period_or_letter(self) -> Limit:
        if self.set_by_body == (self.amount is not None and self.unit is not None):
            raise ValueError("a limit is either set by the body (set_by_body) or a period (amount and unit)")
        return self


class Step(_Strict):
    kind: str = Field(pattern=r"^[a-z][a-z_]*$")
    label: str
    opens: tuple[Limit, ...] = ()
    meets: tuple[str, ...] = ()


class Procedure(_Strict):
    id: str
    bodies: tuple[str, ...] = Field(min_length=1)
    interim_channels: tuple[str, ...] = ()
    interim_refused_channels: dict[str, str] = Field(default_factory=dict)
    interim_rule: Citation | None = None
    step: tuple[Step, ...] = Field(min_length=1)

    def find(self, kind: str) -> Step | None:
        return next((s for s in self.step if s.kind == kind), None)


class Procedures(_Strict):
    version: str
    procedure: tuple[Procedure, ...]

    def for_body(self, body: str) -> Procedure:
        for procedure in self.procedure:
            if body in procedure.bodies:
                return procedure
        raise KeyError(body)


def load_procedures(path: Path | None = None) -> Procedures:
    return load_toml_model(Procedures, path or DATA, StepsFileError)


@cache
def shipped_procedures() -> Procedures:
    return load_procedures()
