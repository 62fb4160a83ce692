"""Settings common to every service.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix`` and builds one instance at
start-up (in its ``create_app``), which is then passed down. Nothing reads the environment at import.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Development defaults that must never reach production: the validator refuses them there.
DEV_MASTER_KEY = "dev-only-master-key-change-me-0000000000"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_", extra="ignore", frozen=True)

    service_name: str = "comitas"
    environment: Environment = "development"
    database_url: str = "sqlite+aiosqlite:///var/comitas.db"
    nats_url: str = "nats://127.0.0.1:14222"
    # Copies of each JetStream stream: 1 on one machine, 3 on the production cluster.
    nats_stream_replicas: int = Field(1, ge=1, le=5)
    # The token issuer every resource server trusts, and where its metadata/JWKS live.
    issuer: str = "http://127.0.0.1:8000"
    jwks_url: str | None = None
    audience: str = "comitas"
    # Extra OIDC issuers (an institution's own Keycloak, say), by issuer URL; their JWKS is discovered.
    extra_issuers: list[str] = Field(default_factory=list)
    public_url: str = "http://127.0.0.1:8000"
    otel_exporter: Literal["none", "console", "otlp", "memory"] = "none"
    otel_endpoint: str | None = None
    max_body_bytes: int = 1_000_000
    outbox_poll_seconds: float = 0.5
    master_key: SecretStr = SecretStr(DEV_MASTER_KEY)

    @model_validator(mode="after")
    def _refuse_dev_defaults_outside_development(self) -> ServiceSettings:
        if self.environment == "production":
            if self.master_key.get_secret_value() == DEV_MASTER_KEY:
                raise ValueError("master_key: the development default is refused in production")
            if self.issuer.startswith("http://"):
                raise ValueError("issuer: production issuers must be https")
        return self

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.issuer.rstrip('/')}/.well-known/jwks.json"
