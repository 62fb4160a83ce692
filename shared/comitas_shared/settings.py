"""Settings common to every service.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix`` and builds one instance at
start-up (in its ``create_app``), which is then passed down. Nothing reads the environment at import.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Development defaults that must never reach production: the validator refuses them there.
DEV_MASTER_KEY = "dev-only-master-key-change-me-0000000000"
# How long a replica answers 503 on /readyz after SIGTERM while still serving (comitas_shared.draining):
# at least the gateway's (fall + 1) check intervals (deploy/topology.toml: 1 s, fall 2), with room for a
# busy machine's late checks.
DEFAULT_DRAIN_SECONDS = 5.0


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_", extra="ignore", frozen=True)

    service_name: str = "comitas"
    environment: Environment = "development"
    database_url: str = "sqlite+aiosqlite:///var/comitas.db"
    # PostgreSQL connections per process: kept connections, and how many more a burst may open. Each
    # replica's worst case is their sum; a cluster sizes them so replicas x sum stays under the server's
    # max_connections (docs/capacity.md).
    database_pool_size: int = Field(10, ge=1, le=100)
    database_max_overflow: int = Field(20, ge=0, le=100)
    nats_url: str = "nats://127.0.0.1:14222"
    # Every node of a NATS cluster, comma-separated (``nats://n1:4222,nats://n2:4222``) or a list: the
    # client starts on any that answers and fails over between them (and the nodes they announce). Empty:
    # ``nats_url`` alone. Given without ``nats_url``, its first entry is ``nats_url`` too, for the code that
    # needs one address.
    nats_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A ``.creds`` file (user JWT and seed) for NATS in operator mode (ADR 0033); None: connect without
    # credentials, as to a server that has no accounts (tests, and `make run` unless told otherwise).
    nats_credentials: str | None = None
    # Copies of each JetStream stream: 1 on one machine, 3 on the production cluster.
    nats_stream_replicas: int = Field(1, ge=1, le=5)
    # The token issuer every resource server trusts, and where its metadata/JWKS live.
    issuer: str = "http://127.0.0.1:8000"
    jwks_url: str | None = None
    # This service's RFC 8707 resource identifier: tokens must name it in ``aud`` (ADR 0008).
    # None means ``urn:comitas:<service_name>``.
    audience: str | None = None
    # Accept tokens whose aud is the legacy platform-wide "comitas" (requested without a resource).
    # None: outside production only.
    accept_legacy_audience: bool | None = None
    max_token_lifetime_seconds: int = Field(3600, ge=60, le=86400)
    # Addresses of the reverse proxies whose X-Forwarded-For is believed (throttling keys on the client).
    trusted_proxies: list[str] = Field(default_factory=list)
    # Extra OIDC issuers (an institution's own Keycloak, say), by issuer URL; their JWKS is discovered.
    extra_issuers: list[str] = Field(default_factory=list)
    public_url: str = "http://127.0.0.1:8000"
    otel_exporter: Literal["none", "console", "otlp", "memory"] = "none"
    otel_endpoint: str | None = None
    max_body_bytes: int = 1_000_000
    outbox_poll_seconds: float = 0.5
    # After SIGTERM: /readyz answers 503 for this long while requests are still served, then the process
    # stops (ADR 0042). 0: stop at once. Unset, it is DEFAULT_DRAIN_SECONDS in production and 0 elsewhere
    # (`make run`, and tests that stop a service process, must not wait for a balancer there is not).
    drain_seconds: float = Field(0.0, ge=0, le=300)
    master_key: SecretStr = SecretStr(DEV_MASTER_KEY)

    @field_validator("nats_servers", mode="before")
    @classmethod
    def _split_servers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="before")
    @classmethod
    def _drain_in_production(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("drain_seconds") is None and data.get("environment") == "production":
            return {**data, "drain_seconds": DEFAULT_DRAIN_SECONDS}
        return data

    @model_validator(mode="before")
    @classmethod
    def _nats_url_from_servers(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("nats_servers") and not data.get("nats_url"):
            servers = cls._split_servers(data["nats_servers"])
            if servers:
                return {**data, "nats_url": servers[0]}
        return data

    @model_validator(mode="after")
    def _refuse_dev_defaults_outside_development(self) -> ServiceSettings:
        if self.environment == "production":
            if self.master_key.get_secret_value() == DEV_MASTER_KEY:
                raise ValueError("master_key: the development default is refused in production")
            if self.issuer.startswith("http://"):
                raise ValueError("issuer: production issuers must be https")
        return self

    @property
    def nats_server_urls(self) -> list[str]:
        """What the platform's NATS client connects to: every listed node, or ``nats_url``."""
        return list(self.nats_servers) or [self.nats_url]

    @property
    def resolved_audience(self) -> str:
        return self.audience or f"urn:comitas:{self.service_name}"

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.issuer.rstrip('/')}/.well-known/jwks.json"
