from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from .domain import Channel, DeliveryKind, DeliveryState


class AttemptOut(BaseModel):
    number: int
    attempted_at: datetime
    status_code: int | None = Field(description="webhooks: the HTTP status; e-mail: the SMTP reply code")
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    channel: Channel
    kind: DeliveryKind = Field(description="`event`: one event; `digest`: a day's events in one message")
    event_id: str = Field(description="the event's id (a digest: `digest:<end of its period>`)")
    event_type: str
    state: DeliveryState
    attempt_count: int
    next_attempt_at: datetime | None = Field(description="a digest: when it is due, at the end of its period")
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DigestOut(BaseModel):
    period_start: datetime
    period_end: datetime
    time_zone: str
    event_ids: list[str]
    sealed_at: datetime | None = Field(description="when its first attempt started; later events go to the next")


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]
    digest: DigestOut | None = None


class MessagePreview(BaseModel):
    """An e-mail delivery's message as it would be sent now (the directory as it is now)."""

    message_id: str
    to: list[str]
    language: str
    subject: str
    text: str
    html: str
    undeliverable: str | None = Field(description="why it cannot be sent now, if it cannot")
