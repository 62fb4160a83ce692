from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from comitas_shared.openapi import IsoDate

from .domain import Kind, MeasureType, Status
from .rules import Source

StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeasureIn(StrictModel):
    kind: Kind
    type: MeasureType


class DecisionCreate(StrictModel):
    respondent_state: StateCode
    decided_on: IsoDate = Field(description="the day of the decision (judgment, Views, report)")
    final_on: IsoDate | None = Field(None, description="the day it became final (ECtHR Art 44)")
    track: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,16}$")] | None = Field(
        None, description="the supervision track, where the body has them (ECtHR: standard or enhanced)")
    measures: list[MeasureIn] = Field(min_length=1, max_length=30)


class StatusCreate(StrictModel):
    status: Status
    as_of: IsoDate
    source: Source
    grade: Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]?$")] | None = Field(
        None, description="the body's own grade, on its scale (the Human Rights Committee's A-E)")


class StatusOut(BaseModel):
    status: Status
    as_of: IsoDate
    source: str
    grade: str | None


class MeasureOut(BaseModel):
    id: str
    filing_id: str
    body: str
    respondent_state: str
    kind: Kind
    type: MeasureType
    decided_on: IsoDate
    final_on: IsoDate | None
    track: str | None
    status: Status
    status_as_of: IsoDate
    history: list[StatusOut]
    report_due: IsoDate | None = Field(description="the state's first follow-up report (None: the period is not "
                                                   "known, check the body's rules)")
    created_at: datetime
    updated_at: datetime
    version: int


class CellOut(BaseModel):
    status: Status
    measures: int | None = Field(description="null when suppressed")
    suppressed: bool


class RowOut(BaseModel):
    key: str
    period: str
    total: int | None
    cells: list[CellOut]


class TableOut(BaseModel):
    dimension: str
    rows: list[RowOut]
    chart: dict[str, Any] = Field(description="a Vega-Lite specification of the published cells")


class ProcedureOut(BaseModel):
    id: str
    name: str
    bodies: list[str]
    report: dict[str, Any] | None
    scale: list[str]
    tracks: list[str]
    submissions: list[str]
    source: str
    status: str


class ComplianceOut(BaseModel):
    threshold: int
    generated_on: IsoDate
    tables: list[TableOut]
    procedures: list[ProcedureOut]
