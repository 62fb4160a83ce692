"""API shapes of evidence items, their custody and their shared copies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from ..consent.schemas import InstitutionKind, Purpose

# An institution's id, a kind of institution or a mechanism's code (each checked where it matters).
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class EvidenceOut(BaseModel):
    """An item as listed with ``complaints:read``: no file name (names often name people)."""

    id: str
    complaint_id: str
    sha256: str
    size: int
    detected_type: str
    declared_type: str | None = None
    derived_from: str | None = Field(None, description="for a metadata-stripped copy: the original's id")
    created_at: datetime


class EvidenceDetail(EvidenceOut):
    """An item as read with ``complaints:pii`` and a stated purpose (recorded as "viewed" in custody)."""

    filename: str | None = None


class EvidenceReceived(EvidenceOut):
    """The answer to an upload: ``sha256`` is the SHA-256 of the bytes received, computed as they came."""

    custody_head: str


class ManifestItem(BaseModel):
    """One file as a disclosure of the evidence category lists it."""

    id: str
    sha256: str
    size: int
    detected_type: str
    filename: str | None = None


class CustodyActorOut(BaseModel):
    institution_id: str
    client_id: str | None = None
    user_id: str | None = None
    act: dict[str, Any] | None = None


class CustodyEntryOut(BaseModel):
    seq: int
    action: str
    actor: CustodyActorOut
    at: datetime
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class CustodyOut(BaseModel):
    """The whole chain of one item, in order, checked: a chain is verified as a whole, so it is not paged."""

    item_id: str
    sha256: str
    entries: list[CustodyEntryOut]
    intact: StrictBool
    problem: str | None = None


class SharedCopyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient_type: Literal["institution", "mechanism"]
    recipient: Identifier = Field(description="the institution's id, or the mechanism's code")
    recipient_kind: InstitutionKind | None = Field(None, description="the institution's kind (required for an "
                                                                     "institution: kind-level consent covers it)")
    purpose: Purpose
    override_reason: Note | None = Field(None, description="share although consent does not cover evidence for "
                                                           "this recipient and purpose (needs the override scope)")


class SharedCopyOut(BaseModel):
    item: EvidenceOut = Field(description="the copy, an evidence item of its own (download it like any item)")
    original_id: str
    original_sha256: str
    copy_sha256: str
    stripped: StrictBool
    removed: list[str]
    note: str | None = None
    recipient_type: str
    recipient: str
    purpose: str
    basis: Literal["consent", "override"]
