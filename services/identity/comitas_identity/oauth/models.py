"""The authorization server's tables: clients, authorization codes, refresh tokens, accepted client
assertions and the revocation deny-list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, String, Text
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


def _when(nullable: bool = False, *, index: bool = False) -> Any:
    return Field(default=None if nullable else ..., sa_column=Column(UTCDateTime(), nullable=nullable,
                                                                     index=index))


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
    # Where RP-initiated sign-out may send the browser back to (OIDC RP-Initiated Logout §3.1);
    # NULL for clients registered before sign-out existed, read as none.
    post_logout_redirect_uris: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    grant_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # A platform service's client that may exchange tokens (RFC 8693): the resource identifier of the
    # service it is (a subject token must be addressed to it), the resources it may ask for and the
    # scopes it may ask for on anyone's behalf. NULL for every other client.
    service_resource: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    exchange_resources: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    exchange_scopes: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = _when()


class RevokedToken(Base, table=True):  # type: ignore[call-arg]
    """The jti deny-list (RFC 7009). Rows are useless once the token would have expired anyway."""

    __tablename__ = "revoked_token"

    jti: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(sa_column=Column(String(64), nullable=False))
    institution_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    expires_at: datetime = _when(index=True)
    revoked_at: datetime = _when()


class AuthorizationCode(Base, table=True):  # type: ignore[call-arg]
    """Codes are kept (by hash) after use, with the token they bought, so that a replayed code
    revokes that token (RFC 6749 §4.1.2)."""

    __tablename__ = "authorization_code"
    __table_args__ = (Index("ix_authorization_code_client_id_nonce", "client_id", "nonce"),)

    code_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(sa_column=Column(String(64), ForeignKey("oauth_client.client_id"), nullable=False))
    user_id: str = Field(sa_column=Column(String(64), ForeignKey("user_account.id"), nullable=False))
    redirect_uri: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    scope: str = Field(sa_column=Column(Text, nullable=False))
    code_challenge: str = Field(sa_column=Column(String(128), nullable=False))
    code_challenge_method: str = Field(sa_column=Column(String(8), nullable=False))
    # OIDC: the request's nonce goes into the ID token; the sign-in time is its auth_time.
    nonce: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    auth_time: datetime | None = _when(nullable=True)
    # RFC 8707 resource indicators named at the authorization endpoint; the exchange may narrow them.
    resources: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _when()
    expires_at: datetime = _when(index=True)
    consumed_at: datetime | None = _when(nullable=True)
    token_jti: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    token_expires_at: datetime | None = _when(nullable=True)


class UsedClientAssertion(Base, table=True):  # type: ignore[call-arg]
    """jti of private_key_jwt assertions already accepted, so none is accepted twice (RFC 7523 §3)."""

    __tablename__ = "used_client_assertion"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    jti: str = Field(sa_column=Column(String(255), primary_key=True))
    expires_at: datetime = _when(index=True)


class RefreshToken(Base, table=True):  # type: ignore[call-arg]
    """Refresh tokens (RFC 6749 §6, rotated as RFC 9700 §4.14.2 says), stored by SHA-256 only: a reader of
    the table cannot refresh. Each use retires the token and issues its successor in the same family;
    a retired token presented again revokes the whole family, with the access tokens it bought. Rows
    are kept, used or not, until the family's absolute end, so that reuse is recognised until then.
    ``family_id`` is the hash of the authorization code the family was born from: a replayed code ends
    it (RFC 6749 §4.1.2)."""

    __tablename__ = "refresh_token"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    family_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    client_id: str = Field(sa_column=Column(String(64), ForeignKey("oauth_client.client_id"), nullable=False))
    user_id: str = Field(sa_column=Column(String(64), ForeignKey("user_account.id"), nullable=False))
    institution_id: str = Field(sa_column=Column(String(64), nullable=False))
    # What the officer granted at sign-in: a refresh may ask for less, never more (RFC 6749 §6).
    scope: str = Field(sa_column=Column(Text, nullable=False))
    # The RFC 8707 resources of the sign-in; NULL when it named none.
    resources: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The access token issued beside this refresh token: revoked with the family.
    access_jti: str = Field(sa_column=Column(String(64), nullable=False))
    access_expires_at: datetime = _when()
    issued_at: datetime = _when()
    expires_at: datetime = _when()
    # The family's absolute end (the sign-in plus refresh_token_family_max_seconds).
    family_expires_at: datetime = _when(index=True)
    used_at: datetime | None = _when(nullable=True)
    revoked_at: datetime | None = _when(nullable=True)
