"""Settings of the identity service (environment prefix ``COMITAS_IDENTITY_``)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from comitas_shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_IDENTITY_", extra="ignore", frozen=True)

    service_name: str = "identity"
    database_url: str = "sqlite+aiosqlite:///var/identity.db"
    # RFC 9068 access tokens are bearer credentials: minutes, not days.
    token_lifetime_seconds: int = Field(default=600, ge=60, le=3600)
    # RFC 6749 §4.1.2 recommends at most ten minutes.
    authorization_code_lifetime_seconds: int = Field(default=300, ge=30, le=600)
    # A private_key_jwt client assertion may not claim to live longer than this (bounds the jti store).
    client_assertion_max_lifetime_seconds: int = Field(default=900, ge=60, le=3600)
    # How often expired codes, assertion ids and revocations are purged.
    housekeeping_interval_seconds: float = Field(default=600.0, gt=0)

    @model_validator(mode="after")
    def _public_url_is_transport_safe(self) -> IdentitySettings:
        # Authlib refuses OAuth requests whose URL is neither https nor loopback http (RFC 6749 §3.1);
        # say so at start-up rather than on every request.
        parts = urlsplit(self.public_url)
        if parts.scheme == "https":
            return self
        if self.environment == "production":
            raise ValueError("public_url: production must use https")
        if parts.scheme != "http" or not _is_loopback(parts.hostname or ""):
            raise ValueError("public_url: use https, or http on a loopback host in development")
        return self

    @property
    def token_endpoint(self) -> str:
        return self.endpoint("/oauth/token")

    def endpoint(self, path: str) -> str:
        return f"{self.public_url.rstrip('/')}{path}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
