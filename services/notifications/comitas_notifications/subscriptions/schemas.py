from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, description="https URL that receives the signed events")
    event_types: list[str] = Field(
        min_length=1, max_length=50,
        description="CloudEvents types to receive: exact (`comitas.complaint.submitted`), a context "
                    "(`comitas.complaint.*`) or `*` for every type institutions may receive")
    description: str | None = Field(default=None, max_length=500)


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Standard Webhooks signing secret (`whsec_…`), shown only in this answer")


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None = None
