"""Tables every service has beside its own: the outbox, the inbox, idempotency keys and throttle hits.

They are defined by a function over the service's own MetaData, so each service's migrations create
them and the models-vs-migrations check covers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from .db import UTCDateTime


@dataclass(frozen=True)
class PlatformTables:
    outbox: Table
    inbox: Table
    idempotency: Table
    throttle: Table


def define_platform_tables(metadata: MetaData) -> PlatformTables:
    outbox = Table(
        "outbox",
        metadata,
        # A sequence gives the relay a stable publishing order within one service.
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("event_type", String(128), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("institution_id", String(64), nullable=True),
        Column("occurred_at", UTCDateTime(), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("published_at", UTCDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unpublished", "published_at", "seq"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("handled_at", UTCDateTime(), nullable=False),
    )
    idempotency = Table(
        "idempotency_key",
        metadata,
        Column("institution_id", String(64), primary_key=True),
        Column("operation", String(100), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("state", String(16), nullable=False),
        Column("response_status", Integer, nullable=True),
        Column("response_body", JSON, nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("locked_until", UTCDateTime(), nullable=True),
    )
    # One row per counted attempt (comitas_shared.throttle): a moving window is a count of rows, so every
    # replica sees the same window. The key is a hash: no e-mail address or IP address is stored.
    throttle = Table(
        "throttle_hit",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("key", String(255), nullable=False),
        Column("at", UTCDateTime(), nullable=False),
        Column("expires_at", UTCDateTime(), nullable=False),
        Index("ix_throttle_hit_key_at", "key", "at"),
        Index("ix_throttle_hit_expires_at", "expires_at"),
    )
    return PlatformTables(outbox=outbox, inbox=inbox, idempotency=idempotency, throttle=throttle)
