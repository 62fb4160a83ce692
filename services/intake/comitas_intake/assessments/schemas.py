from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, StrictBool


class AssessmentOut(BaseModel):
    id: str
    complaint_id: str
    complaint_version: int
    rules_version: str
    created_at: datetime
    stale: StrictBool
    stale_reasons: list[str]
    result: dict[str, Any]


class MechanismOut(BaseModel):
    code: str
    name: str
    short_name: str
    version: str
    time_zone: str
    rules: dict[str, Any]


class MechanismCatalogueOut(BaseModel):
    rules_version: str
    acceptances_version: str
    acceptance_lists: list[dict[str, Any]]
    mechanisms: list[MechanismOut]
