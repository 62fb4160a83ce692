"""API shapes of transfers. Request models forbid unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grant_id: Identifier = Field(description="the sender's disclosure to the caller, for the purpose transfer, "
                                             "resting on the victim's consent")
    referral_id: Identifier = Field(description="the referral (kind transfer) the caller accepted; also the "
                                                "Idempotency-Key")


class TransferParty(BaseModel):
    institution_id: str
    complaint_id: str


class HandedDeadline(BaseModel):
    mechanism: str
    last_day: date
    time_zone: str


class TransferOut(BaseModel):
    """The caller's new complaint, and where it came from."""

    id: str = Field(description="the transfer's own id")
    complaint_id: str = Field(description="the caller's new complaint (GET /v1/complaints/{complaint_id})")
    reference: str
    transferred_from: TransferParty
    referral_id: str
    grant_id: str
    categories: list[str] = Field(description="what the victim consented to transfer: all the new complaint holds")
    deadlines: list[HandedDeadline] = Field(description="the filing deadlines now watched for the caller")
    transferred_at: datetime
