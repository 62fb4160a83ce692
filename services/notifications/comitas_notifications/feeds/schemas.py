from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from comitas_shared.openapi import IsoDateTime


class FeedEventType(BaseModel):
    type: str = Field(description="the CloudEvents type, as in ce-type")
    subject: str = Field(description="the subject it travels on in this institution's feed")


class FeedConsumerState(BaseModel):
    start: datetime | None = Field(description="the point in time it was last replayed from (none: the feed's start)")
    pending: int = Field(description="events of the feed not yet delivered")
    ack_pending: int = Field(description="events delivered and not yet acknowledged")
    redelivered: int = Field(description="events delivered more than once and not yet acknowledged")
    delivered: int = Field(description="stream sequence of the last event delivered")
    acknowledged: int = Field(description="stream sequence up to which every event is acknowledged")
    subscribed: bool = Field(description="whether a subscriber is listening on the delivery subject now")


class FeedOut(BaseModel):
    enabled: bool = Field(description="whether this platform runs the NATS feeds")
    credentials_available: bool = Field(description="whether POST /v1/feeds/credentials can issue credentials")
    nats_url: str = Field(description="where subscribers connect")
    institution_id: str
    stream: str = Field(description="the JetStream stream holding every institution's feed")
    subjects: str = Field(description="this institution's feed in the stream: feed.<institution_id>.<context>.<event>")
    consumer: str = Field(description="the platform-owned durable consumer that delivers this feed")
    deliver_subject: str = Field(description="subscribe here (the only subject the credentials may read)")
    ack_subjects: str = Field(description="acknowledge each event by answering it (its reply subject is under these)")
    ack_wait_seconds: float = Field(description="an event not acknowledged within this is delivered again")
    retention_days: int = Field(description="how far back the feed can be replayed")
    event_types: list[FeedEventType] = Field(description="the event types the feed may carry")
    consumer_state: FeedConsumerState | None = Field(description="the durable consumer now (none: not created yet)")


class FeedCredentialsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[\w .@-]+$",
                             description="what the subscriber is (it names the NATS user)")


class FeedCredentials(BaseModel):
    creds: str = Field(description="a NATS credentials file (user JWT and nkey seed), shown only in this answer: "
                                   "save it as <name>.creds; it reads this institution's feed and nothing else")
    user_public_key: str = Field(description="the NATS user's public key (U…)")
    account_public_key: str = Field(description="the institution's NATS account (A…)")
    expires_at: datetime
    nats_url: str
    deliver_subject: str
    ack_subjects: str


class FeedReplay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: IsoDateTime = Field(description="deliver the feed again from this instant (what the stream still holds)")


class FeedReplayed(BaseModel):
    consumer: str
    since: datetime
    pending: int = Field(description="events the recreated consumer will deliver")
