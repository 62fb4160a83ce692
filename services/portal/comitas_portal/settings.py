from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from comitas_shared.settings import ServiceSettings


class PortalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_PORTAL_", extra="ignore", frozen=True)

    service_name: str = "portal"
    database_url: str = "sqlite+aiosqlite:///var/portal.db"
    # Where the browser reaches the portal: the redirect URI registered at identity is <public_url>/auth/callback.
    public_url: str = "http://127.0.0.1:8080"
    # The services the portal calls with the officer's token, exactly as a partner's system would.
    identity_url: str = "http://127.0.0.1:8000"
    intake_url: str = "http://127.0.0.1:8001"
    referral_url: str = "http://127.0.0.1:8002"
    mla_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    # The portal's confidential OAuth client at identity (authorization code + PKCE); the devstack passes
    # the one identity's demo seeds. Without it nobody can sign in (the pages say so).
    identity_client_id: str | None = None
    identity_client_secret: SecretStr | None = None
    # What the officer's one token may do; identity grants the intersection with the officer's own scopes.
    scopes: list[str] = Field(default_factory=lambda: [
        "openid", "profile", "email", "complaints:read", "complaints:submit", "complaints:manage", "complaints:pii",
        "referrals:read", "referrals:write", "referrals:respond", "mla:read", "mla:write", "mla:respond",
        "deadlines:read", "subscriptions:manage", "events:subscribe", "directory:read"])
    # The session ends after this long without a request, and in any case after session_max_seconds.
    session_idle_seconds: int = Field(8 * 3600, ge=60, le=7 * 86400)
    session_max_seconds: int = Field(12 * 3600, ge=60, le=30 * 86400)
    # The officer's access token is refreshed (a rotated refresh token from identity, ADR 0071) once it
    # expires within this long; above the 15 s within which it is no longer used at all.
    token_refresh_seconds: int = Field(60, ge=16, le=1800)
    # How long one portal process holds a session's refresh to itself: longer than identity may take to
    # answer (the refresh's own timeout is a third of it), so two replicas never send one refresh token twice.
    refresh_lease_seconds: float = Field(30.0, ge=1, le=300)
    # A sign-in started and not finished within this long is refused (the code's own lifetime is shorter).
    sign_in_seconds: int = Field(600, ge=30, le=3600)
    # Today's live updates: how often the stream asks the services what changed, and how long one stream
    # lives before the browser reconnects (so no connection outlives a deploy for long).
    live_poll_seconds: float = Field(2.0, ge=0.05, le=60)
    live_stream_seconds: float = Field(300.0, ge=1, le=3600)
    # The Secure attribute on the session cookie: None means on unless the portal is served over plain
    # http in development or tests.
    cookie_secure: bool | None = None

    @model_validator(mode="after")
    def _https_in_production(self) -> PortalSettings:
        if self.environment == "production" and not self.public_url.startswith("https://"):
            raise ValueError("public_url: the portal must be served over https in production")
        return self

    @property
    def secure_cookie(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production" or self.public_url.startswith("https://")

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url.rstrip('/')}/auth/callback"
