from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class InboxItemOut(BaseModel):
    id: str
    kind: str
    title: str
    deadline_id: str | None
    deadline_key: str | None
    reminder: str | None
    due_at: datetime | None
    read: bool
    created_at: datetime


class InboxPage(BaseModel):
    items: list[InboxItemOut]
    next_cursor: str | None = None
