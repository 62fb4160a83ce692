from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    states: list[StateCode] = Field(default_factory=list, max_length=60,
                                    description="respondent states to watch (empty: every state)")


class SubscriptionOut(BaseModel):
    id: str
    institution_id: str
    states: list[str]
    threshold: int
    window_days: int
    created_at: datetime
