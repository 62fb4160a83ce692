from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Channel = Literal["webhook", "email"]
Urgency = Literal["all", "urgent"]
DeliveryMode = Literal["immediate", "daily_digest"]
CaseRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Checked loosely here: the address must in any case be one of the institution's own in the directory.
EmailAddress = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")]

_EVENT_TYPES = ("CloudEvents types to receive: exact (`comitas.complaint.submitted`), a context "
                "(`comitas.complaint.*`) or `*` for every type institutions may receive")
_CASES = ("only events about these cases (complaint or MLA request ids, case references such as "
          "`CMP-…`); absent or null: every case")
_URGENCY = ("`urgent`: only urgent events (a payload marked urgent, a deadline reminder three days "
            "before or less, due or overdue, a withdrawn consent); `all`: every event")
_MODE = "`immediate`: one message per event; `daily_digest`: one message a day summarising the day's events"
_DIGEST_HOUR = "local hour (institution's time zone) a daily digest is sent at; default: the service's"
_EMAIL = ("e-mail only: one of the institution's notification addresses in the directory; absent: all of "
          "them")


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = Field("webhook", description="`webhook` (signed HTTP POST) or `email` (SMTP, to the "
                                                    "institution's own addresses)")
    url: str | None = Field(default=None, min_length=1, max_length=2048,
                            description="webhooks only (required): the https URL that receives the signed events")
    email_address: EmailAddress | None = Field(default=None, description=_EMAIL)
    event_types: list[str] = Field(min_length=1, max_length=50, description=_EVENT_TYPES)
    cases: list[CaseRef] | None = Field(default=None, min_length=1, max_length=100, description=_CASES)
    urgency: Urgency = Field("all", description=_URGENCY)
    delivery_mode: DeliveryMode = Field("immediate", description=_MODE)
    digest_hour: int | None = Field(default=None, ge=0, le=23, description=_DIGEST_HOUR)
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _fields_of_the_channel(self) -> SubscriptionCreate:
        if self.channel == "webhook":
            if self.url is None:
                raise ValueError("a webhook subscription needs a url")
            if self.email_address is not None:
                raise ValueError("email_address is for e-mail subscriptions")
        elif self.url is not None:
            raise ValueError("an e-mail subscription has no url")
        if self.digest_hour is not None and self.delivery_mode != "daily_digest":
            raise ValueError("digest_hour is for daily_digest subscriptions")
        return self


class SubscriptionUpdate(BaseModel):
    """``PATCH``: the fields given replace the stored ones; ``cases``, ``email_address``, ``digest_hour``
    and ``description`` may be null (every case; every address; the default hour; none). The channel
    cannot change (create another subscription)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    email_address: EmailAddress | None = None
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=50, description=_EVENT_TYPES)
    cases: list[CaseRef] | None = Field(default=None, min_length=1, max_length=100, description=_CASES)
    urgency: Urgency | None = Field(default=None, description=_URGENCY)
    delivery_mode: DeliveryMode | None = Field(default=None, description=_MODE)
    digest_hour: int | None = Field(default=None, ge=0, le=23, description=_DIGEST_HOUR)
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _not_null(self) -> SubscriptionUpdate:
        for required in ("url", "event_types", "urgency", "delivery_mode"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """Only what the caller sent (an explicit null kept)."""
        return self.model_dump(exclude_unset=True)


class SubscriptionOut(BaseModel):
    id: str
    channel: Channel
    url: str | None
    email_address: str | None
    event_types: list[str]
    cases: list[str] | None
    urgency: Urgency
    delivery_mode: DeliveryMode
    digest_hour: int | None
    description: str | None
    created_at: datetime
    updated_at: datetime | None


class SubscriptionCreated(SubscriptionOut):
    secret: str | None = Field(description="webhooks: the Standard Webhooks signing secret (`whsec_…`), shown only "
                                            "in this answer; e-mail: null")
