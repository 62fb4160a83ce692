from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field

from comitas_shared.db import UTCDateTime

from ..models import Base


class PortalSession(Base, table=True):
    """One signed-in officer in one browser. The cookie holds an opaque id; the row is found by its
    SHA-256, so a copy of the table opens no session, and the tokens are sealed with the master key."""

    __tablename__ = "portal_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64, index=True)
    user_id: str = Field(max_length=64)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    language: str = Field(max_length=8)
    time_zone: str = Field(max_length=64)
    # The access token, the ID token and the refresh token (when identity issued one), sealed (AES-GCM,
    # the session's id hash as associated data).
    sealed_tokens: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    token_jti: str = Field(max_length=128)
    scopes: str = Field(max_length=2000)
    token_expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # While set and in the future, one portal process is refreshing the token (a lease across replicas:
    # the others wait for its result rather than present the same refresh token, which identity would
    # take for a theft and answer by revoking the whole family).
    refresh_claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The form token every POST of this session must carry (synchroniser token pattern).
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class SignIn(Base, table=True):
    """A sign-in on its way through identity: the PKCE verifier and the nonce wait here, found by the
    hash of ``state``, and bound to the browser that started it by the hash of a cookie of its own."""

    __tablename__ = "portal_sign_in"

    state_hash: str = Field(primary_key=True, max_length=64)
    browser_hash: str = Field(max_length=64)
    sealed_verifier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    nonce: str = Field(max_length=128)
    return_to: str = Field(max_length=500)
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class OfficerPreference(Base, table=True):
    """What an officer chose for the web client (the language), kept across sessions."""

    __tablename__ = "portal_officer_preference"

    user_id: str = Field(primary_key=True, max_length=64)
    institution_id: str = Field(max_length=64, index=True)
    language: str = Field(max_length=8)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
