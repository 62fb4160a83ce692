from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field, StrictBool


@dataclass(frozen=True)
class Contact:
    """An institution's notification addresses as the directory gives them (empty when unknown)."""

    addresses: tuple[str, ...]


@dataclass(frozen=True)
class ProfileDefaults:
    """What to write in when the directory says nothing usable: languages messages exist in, the
    language otherwise, and the time zone otherwise."""

    supported_languages: tuple[str, ...]
    language: str
    time_zone: str


@dataclass(frozen=True)
class Recipient:
    """How an institution is written to: its addresses, language and time zone."""

    institution_id: str
    name: str | None
    addresses: tuple[str, ...]
    language: str
    time_zone: str
    contact_known: bool


class NotificationProfile(BaseModel):
    """The caller's entry in the directory as notifications uses it for e-mail and digests."""

    institution_id: str
    in_directory: StrictBool = Field(description="whether notifications has the institution's directory entry")
    name: str | None
    language: str = Field(description="the language of its e-mails: the contact's, else its first working language "
                                      "with messages, else the service's default")
    time_zone: str = Field(description="the zone its e-mails and digests are dated in")
    addresses: list[str] = Field(description="its notification addresses (identity's directory contact): every "
                                             "e-mail goes to these, or to one of them")
    contact_read_at: datetime | None
    contact_error: str | None
