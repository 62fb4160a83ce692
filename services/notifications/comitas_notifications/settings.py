from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from comitas_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_NOTIFICATIONS_", extra="ignore", frozen=True)

    service_name: str = "notifications"
    database_url: str = "sqlite+aiosqlite:///var/notifications.db"
    public_url: str = "http://127.0.0.1:8004"

    # Webhooks. Private, loopback and link-local targets (and plain http) are for development and
    # tests only: elsewhere a subscriber could point Comitas at its own internal network (SSRF).
    allow_private_webhook_targets: bool = False
    webhook_retry_base_seconds: float = Field(5.0, gt=0)
    webhook_retry_max_seconds: float = Field(3600.0, gt=0)
    webhook_max_attempts: int = Field(8, ge=1, le=50)
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=120)
    webhook_concurrency: int = Field(10, ge=1, le=200)
    # Polling is the safety net; deliveries created in this process wake the worker at once.
    webhook_poll_seconds: float = Field(1.0, gt=0)
    # How long a claimed delivery stays invisible to other replicas; must outlast one attempt.
    webhook_lease_seconds: float = Field(60.0, gt=0)

    # Deadlines: reminders this many days before ``due_at`` (plus one at ``due_at``).
    deadline_reminder_days: tuple[int, ...] = (30, 7, 1)
    # How often every replica looks for deadlines whose timers in NATS lag behind the database.
    deadline_reconcile_seconds: float = Field(30.0, gt=0)
    # A fired reminder message is kept this long in the SCHEDULES stream (per-message TTL).
    reminder_retention_hours: int = Field(24 * 30, ge=1)

    @model_validator(mode="after")
    def _coherent(self) -> NotificationsSettings:
        if self.environment == "production" and self.allow_private_webhook_targets:
            raise ValueError("allow_private_webhook_targets is refused in production")
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must be longer than webhook_timeout_seconds")
        if any(d <= 0 for d in self.deadline_reminder_days):
            raise ValueError("deadline_reminder_days must be positive")
        return self
