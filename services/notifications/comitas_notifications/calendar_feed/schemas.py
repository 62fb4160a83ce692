from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class CalendarFeedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=200, description="what it is for (shown in lists)")


class CalendarFeedOut(BaseModel):
    id: str
    label: str | None
    created_at: datetime


class CalendarFeedCreated(CalendarFeedOut):
    url: str = Field(description="the private feed URL (https), shown only in this answer: anyone holding it reads "
                                 "the institution's deadlines")
    webcal_url: str = Field(description="the same feed for calendar applications (webcal://)")
    token: str = Field(description="the secret in the URL, shown only in this answer (only its hash is kept)")
