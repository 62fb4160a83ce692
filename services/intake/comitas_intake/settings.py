from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from comitas_shared.settings import ServiceSettings
from comitas_shared.throttle import parse_limit

from .protection.crypto import KeyRing

DEV_BLIND_INDEX_KEY = "dev-only-blind-index-key-change-me-000000"


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    database_url: str = "sqlite+aiosqlite:///var/intake.db"
    # Sized for a process taking submissions from about 16 clients at once (the benchmark's load) plus
    # its relay, its consumer and its background tasks, each holding a connection for a transaction: the
    # shared default (10 + 20 overflow) kept opening and closing overflow connections under that load
    # (22-24 new connections per 520 submissions on PostgreSQL). Several replicas on one PostgreSQL set
    # smaller values (docs/capacity.md: replicas x (pool + overflow) within max_connections).
    database_pool_size: int = Field(20, ge=1, le=100)
    database_max_overflow: int = Field(5, ge=0, le=100)
    public_url: str = "http://127.0.0.1:8001"
    # Where the mechanism rule files live; None means the ones shipped with the package.
    rules_dir: str | None = None
    acceptances_dir: str | None = None

    # Master keys that wrapped complaint keys before a rotation: they still unwrap (and still verify
    # their audit checkpoints) until `python -m comitas_intake.protection rewrap` has run.
    previous_master_keys: list[SecretStr] = Field(default_factory=list)
    # The key of the blind indexes (possible duplicates). Its own secret, kept out of the database.
    blind_index_key: SecretStr = SecretStr(DEV_BLIND_INDEX_KEY)
    # Signed copies of each audit chain's head are appended here (outside the database) at this pace.
    audit_checkpoint_dir: str = "var/audit-checkpoints/intake"
    audit_checkpoint_seconds: float = Field(300.0, gt=0)

    # --- consent and evidence ---
    # Evidence files (docs/adr/0013-evidence-store.md), sealed under each complaint's key: under this
    # directory (local backend), or in an S3-compatible bucket (pip install boto3; credentials from
    # boto3's usual chain). A file over evidence_max_bytes is refused and nothing is kept; the upload
    # route's body limit is raised to match (max_body_bytes stays the limit of every other route).
    evidence_backend: Literal["local", "s3"] = "local"
    evidence_dir: str = "var/evidence/intake"
    evidence_s3_bucket: str | None = None
    evidence_s3_prefix: str = "intake/"
    evidence_s3_endpoint_url: str | None = None
    evidence_s3_region: str | None = None
    evidence_max_bytes: int = Field(512 * 1024 * 1024, gt=0)
    # Media types refused as evidence; None: the store's default (executables and scripts, told from
    # the content, and the names Windows runs). An empty list refuses no type.
    evidence_refused_types: list[str] | None = None
    # Where a download's verified ciphertext waits while it streams (an unnamed file); None: the system's.
    evidence_spool_dir: str | None = None

    # --- the public channel (victims and families, no account) ---
    # The institution that receives what the public channel is sent; None: the channel is closed (503).
    public_receiving_institution_id: str | None = None
    # Per client address (behind trusted_proxies): submissions, and wrong receipt codes (the tenth wrong
    # code in a minute is refused with 429 under the default "9/minute").
    public_submission_limit: str = "10/hour"
    public_code_failure_limit: str = "9/minute"
    # Requests the channel answers with a receipt code (status, messages, evidence, withdrawal) per address.
    public_request_limit: str = "120/minute"
    # The no-JavaScript form: at least this long between serving the form and its submission, at most
    # public_form_max_seconds. The JSON API: a hashcash proof of this many leading zero bits.
    public_form_min_seconds: float = Field(4.0, ge=0)
    public_form_max_seconds: float = Field(6 * 3600.0, gt=0)
    public_pow_bits: int = Field(20, ge=0, le=32)
    public_challenge_seconds: float = Field(600.0, gt=0)
    # Size limits: a submission's body, a message, and one evidence file sent by the public.
    public_max_submission_bytes: int = Field(64 * 1024, gt=0)
    public_max_message_chars: int = Field(5_000, gt=0)
    public_evidence_max_bytes: int = Field(25 * 1024 * 1024, gt=0)
    # The work factor of the slow hash of receipt codes (scrypt N = 2**public_receipt_scrypt_log_n).
    public_receipt_scrypt_log_n: int = Field(14, ge=10, le=20)

    @field_validator("public_submission_limit", "public_code_failure_limit", "public_request_limit")
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        parse_limit(value)
        return value

    @model_validator(mode="after")
    def _refuse_dev_keys_in_production(self) -> IntakeSettings:
        if self.environment == "production" and self.blind_index_key.get_secret_value() == DEV_BLIND_INDEX_KEY:
            raise ValueError("blind_index_key: the development default is refused in production")
        return self

    def keyring(self) -> KeyRing:
        return KeyRing(self.master_key.get_secret_value(),
                       [k.get_secret_value() for k in self.previous_master_keys],
                       blind_index_secret=self.blind_index_key.get_secret_value())
