"""Sessions and sign-ins: pure decisions on plain values (no I/O, no clock)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from .. import i18n

# The languages an officer may choose are those the portal has catalogues for.
LANGUAGES = i18n.LANGUAGES
DEFAULT_LANGUAGE = i18n.SOURCE_LANGUAGE


def digest(value: str) -> str:
    """Cookies, states and browser bindings are stored by SHA-256: a copy of the table opens nothing."""
    return hashlib.sha256(value.encode()).hexdigest()


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def safe_return_to(value: str | None) -> str:
    """Where to go after signing in: a path of the portal only, never another site (open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or len(value) > 500:
        return "/"
    return value


def language_from(accept_language: str | None) -> str:
    """The first of the officer's browser languages the portal speaks (RFC 9110 §12.5.4 weights)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, position, tag.strip().lower().split("-")[0]))
    for weight, _, language in sorted(ranked):
        if weight < 0 and language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    maximum: timedelta


def session_expiry(*, created_at: datetime, now: datetime, lifetimes: Lifetimes) -> datetime:
    """A session lives until idle for ``idle``, and never past ``maximum`` from its start."""
    return min(now + lifetimes.idle, created_at + lifetimes.maximum)


def session_live(*, expires_at: datetime, ended_at: datetime | None, now: datetime) -> bool:
    return ended_at is None and now < expires_at


def token_usable(*, token_expires_at: datetime, now: datetime, margin: timedelta = timedelta(seconds=15)) -> bool:
    """An access token about to expire is not used: a call would fail half-way through a page."""
    return now + margin < token_expires_at


def token_needs_refresh(*, token_expires_at: datetime, now: datetime, ahead: timedelta) -> bool:
    """A token that expires within ``ahead`` is refreshed before it is used (ahead is longer than the
    margin of :func:`token_usable`, so a refresh comes before the token stops being usable)."""
    return now + ahead >= token_expires_at
