from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from comitas_shared.openapi import IsoDateTime


class InboxItemOut(BaseModel):
    id: str
    kind: str
    title: str
    case_ref: str | None
    deadline_id: str | None
    deadline_key: str | None
    reminder: str | None = Field(description="d14, d3, d1 …, day (the last day), overdue")
    due_at: datetime | None = Field(description="the instant the deadline ends, UTC")
    last_day: date | None = Field(description="the last day, as a date in `time_zone`")
    time_zone: str | None
    event_id: str | None = Field(description="the comitas.deadline.reminder event the other channels deliver")
    read: StrictBool
    read_at: datetime | None
    created_at: datetime


class MarkAllRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_ref: str | None = Field(None, max_length=200, description="only this case's items")
    up_to: IsoDateTime | None = Field(None, description="only items created at or before this instant (what the reader "
                                                      "has seen)")


class MarkedRead(BaseModel):
    marked: int
