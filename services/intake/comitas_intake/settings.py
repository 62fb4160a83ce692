from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from comitas_shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    database_url: str = "sqlite+aiosqlite:///var/intake.db"
    public_url: str = "http://127.0.0.1:8001"
    # Where the mechanism rule files live; None means the ones shipped with the package.
    rules_dir: str | None = None
    acceptances_dir: str | None = None
