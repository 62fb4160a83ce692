from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from .domain import DeadlineState, Standing


class PauseOut(BaseModel):
    paused_on: date = Field(description="the first day not counted")
    resumed_on: date | None = Field(description="the first day counted again; null while paused")
    reason: str


class ExtensionOut(BaseModel):
    amount: int
    unit: str
    reason: str
    cap: dict[str, Any] | None
    refused: StrictBool = Field(description="true: granted in this order it would pass the rule's cap, so not applied")


class DeadlineOut(BaseModel):
    id: str
    deadline_key: str
    owner_institution_id: str = Field(description="the institution whose deadline it is")
    concerns: list[str] = Field(description="the institutions that must act (each sees its own copy)")
    kind: str
    title: str
    case_ref: str
    case_kind: str
    mechanism: str | None
    last_day: date = Field(description="the last day, as a date in `time_zone` (while paused: where it would end "
                                        "were the clock restarted at once)")
    time_zone: str
    due_at: datetime = Field(description="the instant the last day ends, UTC")
    calendar: str = Field(description="the calendar it is counted in")
    holidays_version: str | None = Field(description="the holidays library's version it was counted with")
    calendar_data_version: str | None
    complete: StrictBool | None = Field(description="false: a closure that could matter is not known (see explanation); "
                                              "null: counted by its owner")
    explanation: list[str]
    hard: StrictBool
    rule: dict[str, Any] = Field(description="provision, source and status of the rule")
    counting: dict[str, Any] | None = Field(description="the counting rule, when notifications counts it")
    pauses: list[PauseOut]
    extensions: list[ExtensionOut]
    paused_since: date | None
    state: DeadlineState = Field(description="as its owner says: open, met or withdrawn")
    standing: Standing = Field(description="upcoming, due (its last day is today), overdue, paused, met or withdrawn")
    closed_reason: str | None
    reminders: list[str] = Field(description="the reminders set for it now (d14, d3, d1, day, overdue, …)")
    created_at: datetime
    updated_at: datetime


class ReminderSettingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: list[str] = Field(max_length=10, description="offsets before the deadline ends: 14d, 3d, 1d, 6h, 30m, "
                                                         "10s")
    on_the_day: StrictBool = Field(True, description="a reminder on the last day (morning, local time)")
    overdue: StrictBool = Field(True, description="a reminder when the last day has ended and it is not met")


class ReminderSettingOut(BaseModel):
    kind: str
    before: list[str]
    on_the_day: StrictBool
    overdue: StrictBool
    default: StrictBool = Field(description="true: the service's defaults (the institution has set none for this kind)")
    updated_at: datetime | None
