from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, StrictBool


class CustodyEntryOut(BaseModel):
    seq: int
    action: str
    actor: dict[str, Any]
    at: datetime
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class CustodyOut(BaseModel):
    intact: StrictBool = Field(description="every entry matches its hash and chains to the one before it")
    problem: str | None
    entries: list[CustodyEntryOut]


class ResultOut(BaseModel):
    id: str
    request_id: str
    partial: StrictBool
    description: str | None
    filename: str | None
    size: int
    sha256: str = Field(description="SHA-256 of the file as received; every download is checked against it")
    detected_type: str
    declared_type: str | None
    created_at: datetime
    custody: CustodyOut
