"""The identity service's tables, in its own registry, beside the platform tables (outbox, inbox,
idempotency keys).

They live in one module rather than one per domain folder: they are few and point at each other
(clients and officers belong to institutions, codes to clients and officers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Index, String, Text, text
from sqlmodel import Field

from comitas_shared.db import make_base, new_registry
from comitas_shared.platform_tables import define_platform_tables

registry = new_registry()
metadata = registry.metadata
# Named constraints, so later migrations (SQLite batch mode included) can refer to them.
metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
Base = make_base(registry)
tables = define_platform_tables(metadata)


def utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; every timestamp here is written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(nullable: bool = False) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable))


class Institution(Base, table=True):  # type: ignore[call-arg]
    __tablename__ = "institution"
    __table_args__ = (Index("ix_institution_created_at_id", "created_at", "id"),)

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    country: str = Field(sa_column=Column(String(2), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = _when()


class OAuthClient(Base, table=True):  # type: ignore[call-arg]
    __tablename__ = "oauth_client"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    institution_id: str = Field(sa_column=Column(String(64), ForeignKey("institution.id"), nullable=False,
                                                 index=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    auth_method: str = Field(sa_column=Column(String(32), nullable=False))
    # "sha256$<hex>" of a high-entropy secret; None for private_key_jwt and public clients.
    secret_hash: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    # The client's public keys (RFC 7517 JWK Set) for private_key_jwt.
    jwks: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    redirect_uris: list[str] = Field(sa_column=Column(JSON, nullable=False))
    grant_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = _when()


class UserAccount(Base, table=True):  # type: ignore[call-arg]
    """A liaison officer, who signs in to the web client through the authorization-code flow."""

    __tablename__ = "user_account"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    institution_id: str = Field(sa_column=Column(String(64), ForeignKey("institution.id"), nullable=False,
                                                 index=True))
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = _when()


class SigningKey(Base, table=True):  # type: ignore[call-arg]
    """Token signing keys. ``active`` signs; ``previous`` still verifies (stays in the JWKS);
    ``retired`` is gone from the JWKS. The partial unique index allows one active key at a time, which
    is what makes start-up safe when several replicas race to create the first key."""

    __tablename__ = "signing_key"
    __table_args__ = (
        Index("uq_signing_key_one_active", "state", unique=True,
              sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")),
    )

    kid: str = Field(sa_column=Column(String(64), primary_key=True))
    algorithm: str = Field(sa_column=Column(String(16), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # AES-GCM under a key derived from the master key; see keys/crypto.py.
    encrypted_private_key: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _when()
    retired_at: datetime | None = _when(nullable=True)


class RevokedToken(Base, table=True):  # type: ignore[call-arg]
    """The jti deny-list (RFC 7009). Rows are useless once the token would have expired anyway."""

    __tablename__ = "revoked_token"

    jti: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(sa_column=Column(String(64), nullable=False))
    institution_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    revoked_at: datetime = _when()


class AuthorizationCode(Base, table=True):  # type: ignore[call-arg]
    """Codes are kept (by hash) after use, with the token they bought, so that a replayed code
    revokes that token (RFC 6749 §4.1.2)."""

    __tablename__ = "authorization_code"

    code_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(sa_column=Column(String(64), ForeignKey("oauth_client.client_id"), nullable=False))
    user_id: str = Field(sa_column=Column(String(64), ForeignKey("user_account.id"), nullable=False))
    redirect_uri: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    scope: str = Field(sa_column=Column(Text, nullable=False))
    code_challenge: str = Field(sa_column=Column(String(128), nullable=False))
    code_challenge_method: str = Field(sa_column=Column(String(8), nullable=False))
    created_at: datetime = _when()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    consumed_at: datetime | None = _when(nullable=True)
    token_jti: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    token_expires_at: datetime | None = _when(nullable=True)


class UsedClientAssertion(Base, table=True):  # type: ignore[call-arg]
    """jti of private_key_jwt assertions already accepted, so none is accepted twice (RFC 7523 §3)."""

    __tablename__ = "used_client_assertion"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    jti: str = Field(sa_column=Column(String(255), primary_key=True))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
