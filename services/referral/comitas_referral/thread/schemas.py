from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attachment(StrictModel):
    """A file referred to by its SHA-256 (an evidence item of a disclosure, say): never the file itself."""

    sha256: Sha256
    evidence_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None


class MessageCreate(StrictModel):
    body: Text
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    answers: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,36}$")] | None = Field(
        None, description="the id of an open request for information this message answers (the sender's side)")


class MessageOut(BaseModel):
    id: str
    referral_id: str
    author: Literal["sender", "recipient", "system"]
    body: str
    attachments: list[Attachment]
    answers: str | None
    message_hash: str = Field(description="SHA-256 of the canonical JSON of body and attachments (in its receipt)")
    posted_at: datetime
