"""Each body's follow-up procedure as data (``data/follow_up.toml``): the state's first report and when
it is due, the body's grading scale, who may submit information, with sources (ADR 0010, 0020)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from comitas_shared.datafiles import load_toml_model

DATA = Path(__file__).parent / "data" / "follow_up.toml"
Status = Literal["confirmed", "partial", "unconfirmed"]
Source = Literal["decision", "state_report", "rule9_submission", "ngo_submission", "nhri_submission",
                 "body_assessment"]


class FollowUpFileError(ValueError):
    """The follow-up file is malformed; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Report(_Strict):
    what: str
    amount: int = Field(ge=1)
    unit: Literal["calendar_days", "months"]
    # decision: the body's decision (Views); finality: the judgment becoming final (ECtHR Art 44).
    start: Literal["decision", "finality"] = Field(alias="from")
    provision: str
    source: str
    status: Status


class Procedure(_Strict):
    id: str
    bodies: tuple[str, ...] = Field(min_length=1)
    name: str
    report: Report | None = None
    tracks: tuple[str, ...] = ()
    scale: tuple[str, ...] = ()
    scale_meaning: str | None = None
    submissions: tuple[Source, ...] = Field(min_length=1)
    closure: str | None = None
    source: str
    status: Status


class FollowUp(_Strict):
    version: str
    procedure: tuple[Procedure, ...]

    def for_body(self, body: str) -> Procedure:
        for procedure in self.procedure:
            if body in procedure.bodies:
                return procedure
        raise KeyError(body)


def load_follow_up(path: Path | None = None) -> FollowUp:
    return load_toml_model(FollowUp, path or DATA, FollowUpFileError)


@cache
def shipped_follow_up() -> FollowUp:
    return load_follow_up()
