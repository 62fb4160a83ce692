from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from .domain import DeadlineState


class DeadlineOut(BaseModel):
    id: str
    deadline_key: str
    kind: str
    title: str
    case_ref: str
    case_kind: str
    mechanism: str | None
    last_day: date = Field(description="the last day, as a date in `time_zone`")
    time_zone: str
    due_at: datetime = Field(description="the instant the last day ends, UTC")
    calendar: str
    hard: bool
    rule: dict[str, Any]
    state: DeadlineState
    closed_reason: str | None
    created_at: datetime
    updated_at: datetime


class DeadlinePage(BaseModel):
    items: list[DeadlineOut]
    next_cursor: str | None = None
