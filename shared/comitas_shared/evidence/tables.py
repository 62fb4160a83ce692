"""The evidence tables, defined on the calling service's own MetaData (as ``platform_tables`` does).

intake and mla each call these on their registry's metadata, so each service owns its tables, its
migrations create them, and ``tests/test_migrations.py`` compares them like any model of the service.
The library fixes the columns once, so the two services' rows mean the same thing.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, MetaData, String, Table, Text

from ..db import UTCDateTime


def define_evidence_item_table(metadata: MetaData, *, name: str = "evidence_item") -> Table:
    """One row per stored file (an original, or a metadata-stripped copy of one)."""
    return Table(
        name,
        metadata,
        Column("id", String(64), primary_key=True),
        Column("institution_id", String(64), nullable=False),
        # What the file belongs to in the service: ("complaint", id) in intake, ("mla_request", id) in mla.
        Column("owner_kind", String(32), nullable=False),
        Column("owner_id", String(64), nullable=False),
        # The name as the uploader gave it, sealed under the item's data key (crypto.seal_filename):
        # file names often name people, and DESIGN §6 wants no plaintext identity in a dump.
        Column("filename_sealed", Text, nullable=False),
        # What the uploader said it is (kept for the record, never trusted) and what its bytes are.
        Column("declared_type", String(255), nullable=True),
        Column("detected_type", String(255), nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("storage_key", String(128), nullable=False, unique=True),
        # Which data key the object is sealed under; the key itself lives with its owner (the complaint).
        Column("key_id", String(64), nullable=False),
        Column("key_version", Integer, nullable=False),
        # For a stripped copy: the item it was made from (the custody entry says when and by whom).
        Column("derived_from", String(64), nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Index(f"ix_{name}_owner", "institution_id", "owner_kind", "owner_id"),
    )


def define_custody_table(metadata: MetaData, *, name: str = "evidence_custody") -> Table:
    """One row per custody entry (custody.CustodyEntry.as_row()). No foreign key to the item table on
    purpose: the trail must outlive the item, whose deletion is itself an entry."""
    return Table(
        name,
        metadata,
        Column("item_id", String(64), primary_key=True),
        # Per item, from 0; the primary key makes concurrent appends to one item collide, not fork.
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("institution_id", String(64), nullable=False),
        Column("action", String(32), nullable=False),
        Column("actor_institution_id", String(64), nullable=False),
        Column("actor_client_id", String(255), nullable=True),
        Column("actor_user_id", String(255), nullable=True),
        Column("actor_act", JSON, nullable=True),
        Column("at", UTCDateTime(), nullable=False),
        Column("details", JSON, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("entry_hash", String(64), nullable=False),
        Index(f"ix_{name}_institution_at", "institution_id", "at"),
    )
