"""API shapes of the published statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictBool


class StatisticsCell(BaseModel):
    key: str = Field(description="The category: an ISO 3166 code, an act type code, a month (YYYY-MM), a status, "
                                 "or 'unspecified'")
    complaints: int | None = Field(description="Complaints in the category; null when suppressed")
    victims: int | None = Field(description="Alleged victims of those complaints; null when suppressed")
    suppressed: StrictBool


class StatisticsTable(BaseModel):
    dimension: Literal["respondent_state", "act_type", "month", "status"]
    withheld: StrictBool = Field(description="True when no category of this table could be published safely: "
                                       "its categories are then not listed")
    total_complaints: int | None
    total_victims: int | None
    cells: list[StatisticsCell]


class StatisticsOut(BaseModel):
    scope: Literal["institution"] = Field(
        default="institution", description="The caller's institution's complaints only (ADR 0015)")
    institution_id: str
    threshold: int = Field(description="Cells under this many complaints or victims are suppressed, and enough "
                                       "others with them that none can be worked out from the rest")
    generated_at: datetime
    total_complaints: int | None
    total_victims: int | None
    tables: list[StatisticsTable]
