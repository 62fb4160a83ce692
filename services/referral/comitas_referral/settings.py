from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from comitas_shared.settings import ServiceSettings


class ReferralSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_REFERRAL_", extra="ignore", frozen=True)

    service_name: str = "referral"
    database_url: str = "sqlite+aiosqlite:///var/referral.db"
    public_url: str = "http://127.0.0.1:8002"
    # identity: the directory (bootstrap of the read model) and token exchange (RFC 8693), with referral's
    # own client (the demo's svc_referral; devstack passes COMITAS_REFERRAL_IDENTITY_CLIENT_ID/_SECRET).
    identity_url: str = "http://127.0.0.1:8000"
    identity_client_id: str | None = None
    identity_client_secret: SecretStr | None = None
    # intake: complaints, disclosures and transfers, always with the caller's exchanged token.
    intake_url: str = "http://127.0.0.1:8001"
    # A send whose call to intake never completed (the process died, intake stayed unreachable) is
    # retried by the client with the same Idempotency-Key; after this long the worker marks it failed.
    sending_timeout_seconds: float = Field(900.0, ge=1)
    worker_every_seconds: float = Field(30.0, gt=0)
    # The directory read model is refreshed from identity's list this often (events keep it current).
    directory_refresh_seconds: float = Field(3600.0, gt=0)
    # Receipt signing keys (ES256) are replaced this often; the old public keys stay in the JWKS for as
    # long as a receipt names them (docs/adr/0061-referral-receipts.md).
    receipt_key_rotation_days: int = Field(90, ge=1, le=3650)
