"""Settings of the identity service (environment prefix ``COMITAS_IDENTITY_``)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from comitas_shared.auth import LEGACY_AUDIENCE, legacy_audience_accepted, service_audience
from comitas_shared.settings import ServiceSettings
from comitas_shared.throttle import parse_limit, parse_networks

# The services of the platform, each its own audience (RFC 8707; docs/adr/0008-audience-per-service.md).
PLATFORM_SERVICES = ("identity", "intake", "referral", "mla", "notifications", "portal")


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_IDENTITY_", extra="ignore", frozen=True)

    service_name: str = "identity"
    database_url: str = "sqlite+aiosqlite:///var/identity.db"
    # RFC 9068 access tokens are bearer credentials: minutes, not days.
    token_lifetime_seconds: int = Field(default=600, ge=60, le=3600)
    # RFC 6749 §4.1.2 recommends at most ten minutes.
    authorization_code_lifetime_seconds: int = Field(default=300, ge=30, le=600)
    # Refresh tokens (web clients allowed the refresh_token grant only): each lives this long unused, and
    # a family (one sign-in and its rotations) never past family_max after the sign-in; then the officer
    # signs in again.
    refresh_token_lifetime_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    refresh_token_family_max_seconds: int = Field(default=12 * 3600, ge=60, le=30 * 86400)
    # A private_key_jwt client assertion may not claim to live longer than this (bounds the jti store).
    client_assertion_max_lifetime_seconds: int = Field(default=900, ge=60, le=3600)
    # How often expired codes, assertion ids, refresh tokens and revocations are purged.
    housekeeping_interval_seconds: float = Field(default=600.0, gt=0)

    # identity is a resource server too (directory, userinfo): this is its own resource identifier.
    audience: str = service_audience("identity")
    # RFC 8707: the resource identifiers a token may be addressed to. A request naming another is
    # invalid_target.
    resources: list[str] = Field(default_factory=lambda: [service_audience(s) for s in PLATFORM_SERVICES])
    # The audience of a token requested without any resource, as every token had before resource
    # indicators. Issued when ``issue_legacy_audience`` is true; None means: outside production only.
    legacy_audience: str = LEGACY_AUDIENCE
    issue_legacy_audience: bool | None = None

    # Failed attempts allowed per window ("<n>/<period>" or "<n> per <k> <period>", the limits library's
    # notation): per client and address at the token endpoint, per account and address at the sign-in.
    token_failure_limit: str = "20/minute"
    sign_in_failure_limit: str = "20/minute"

    @field_validator("token_failure_limit", "sign_in_failure_limit")
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        parse_limit(value)
        return value

    # trusted_proxies is ServiceSettings', which does not check it; identity's throttles rely on it.
    @field_validator("trusted_proxies")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        parse_networks(value)
        return value

    @model_validator(mode="after")
    def _audience_is_a_resource(self) -> IdentitySettings:
        if self.audience not in self.resources:
            raise ValueError("audience: identity's own resource identifier must be among resources")
        return self

    @property
    def legacy_audience_issued(self) -> bool:
        return self.environment != "production" if self.issue_legacy_audience is None \
            else self.issue_legacy_audience

    @property
    def legacy_audience_accepted(self) -> bool:
        return legacy_audience_accepted(self)

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
