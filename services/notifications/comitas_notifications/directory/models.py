from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class DirectoryEntry(Base, table=True):
    """What notifications knows of an institution in identity's directory: the public entry from its
    events (name, time zone, languages, whether active), and its notification contact (addresses,
    language), which the events never carry and which is read from identity's API.

    ``contact_generation`` grows whenever the contact must be read (again): on registration and on every
    change naming ``contact``; ``contact_read_generation`` is the generation the stored contact was read
    for. They differ until the reader catches up, and a read that raced with a newer change does not
    overwrite it."""

    __tablename__ = "directory_entry"

    institution_id: str = Field(primary_key=True, max_length=64)
    version: int
    name: str = Field(max_length=200)
    time_zone: str | None = Field(default=None, max_length=64)
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    # None: never read; []: read, and the institution has no notification address.
    contact_emails: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    contact_language: str | None = Field(default=None, max_length=8)
    contact_generation: int = 1
    contact_read_generation: int | None = None
    contact_read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    contact_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
