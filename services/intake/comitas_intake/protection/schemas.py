"""API shapes of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: dict[str, Any]
    action: str
    subject_kind: str
    subject_id: str
    purpose: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
