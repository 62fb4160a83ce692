from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from comitas_shared.openapi import IsoDate

from .domain import Interim, InterimAction

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,47}$")]


class StepCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Code | None = Field(None, description="a step of the body's procedure (GET .../proceedings); or interim")
    interim: InterimAction | None = Field(None, description="an interim-measures action instead of a step")
    on: IsoDate = Field(description="the day of the step (the letter's date)")
    deadlines: dict[Code, IsoDate] = Field(default_factory=dict, max_length=10,
                                           description="the days the body set in its letter, by limit")
    channel: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        None, description="how an interim-measures request was sent")


class StepOut(BaseModel):
    id: str
    kind: str
    on: IsoDate
    interim_action: str | None
    interim_state: str | None
    channel: str | None
    created_at: datetime


class LimitOut(BaseModel):
    deadline: str
    label: str
    last_day: IsoDate
    status: str
    opened_by: str
    met_by: str | None
    rule: dict[str, Any]


class StepKindOut(BaseModel):
    kind: str
    label: str
    opens: list[str]
    meets: list[str]


class ProceedingsOut(BaseModel):
    filing_id: str
    procedure: str
    steps_available: list[StepKindOut]
    interim_channels: list[str]
    interim_state: Interim | None
    steps: list[StepOut]
    limits: list[LimitOut]
