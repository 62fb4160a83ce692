"""API shapes of possible duplicates."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class MatchNotice(BaseModel):
    """A possible duplicate of one of the caller's complaints. Within the institution it names the
    other complaint; across institutions it names only the institution to coordinate with, never the
    other complaint or anything in it."""

    basis: Literal["person", "incident"] = Field(
        description="person: an alleged victim with the same name and birth date; incident: the same "
                    "respondent state, incident date and place")
    scope: Literal["same_institution", "other_institution"]
    complaint_id: str | None = Field(default=None, description="The other complaint (same_institution only)")
    coordinate_with: str | None = Field(
        default=None, description="The institution holding a possible duplicate (other_institution only)")
    detected_at: datetime
