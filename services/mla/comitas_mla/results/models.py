"""Results returned with files: the evidence tables of the shared library, on mla's own metadata, and the
link from each file to its request (the row both authorities see).

For mla, ``owner_kind`` is ``"mla_request"``, ``institution_id`` the requesting authority (the file is
produced for its case), and every object is sealed under a data key of the request's own, derived from
mla's master key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Index, Text, false
from sqlmodel import Field

from comitas_shared.db import UTCDateTime
from comitas_shared.evidence import define_custody_table, define_evidence_item_table

from ..models import SharedByTwoAuthorities, metadata

evidence_item = define_evidence_item_table(metadata)
evidence_custody = define_custody_table(metadata)


class RequestResult(SharedByTwoAuthorities, table=True):
    __tablename__ = "mla_result"
    __table_args__ = (Index("ix_mla_result_request_created", "request_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    request_id: str = Field(max_length=36, foreign_key="mla_request.id")
    evidence_item_id: str = Field(max_length=64, unique=True)
    partial: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=false()))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    returned_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
