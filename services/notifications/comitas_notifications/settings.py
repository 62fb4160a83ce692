from __future__ import annotations

from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, model_validator
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
    # How long a claimed delivery stays invisible to other replicas. The worker renews it every third
    # of this while a request is in flight, so it only needs to outlast a renewal round; it is also
    # how late a crashed worker's deliveries are taken over (and possibly sent a second time).
    webhook_lease_seconds: float = Field(15.0, ge=1)

    # Deadlines: the reminders an institution gets unless it sets its own for a kind
    # (PUT /v1/reminder-settings/{kind}): this many days before the last day ends, on the last day (at
    # ``deadline_reminder_on_the_day_at`` in the deadline's time zone), and once it has ended unmet.
    deadline_reminder_days: tuple[int, ...] = (14, 3, 1)
    deadline_reminder_on_the_day: bool = True
    deadline_reminder_on_the_day_at: time = time(9, 0)
    deadline_reminder_overdue: bool = True
    # Throughput: deadline events and fired reminders are handled in batches (one transaction each, acks
    # after the commit) by several workers; timers are synced in batches of this size.
    deadline_consumer_batch: int = Field(500, ge=1, le=5000)
    deadline_consumer_workers: int = Field(2, ge=1, le=16)
    reminder_consumer_batch: int = Field(500, ge=1, le=5000)
    # None: one on SQLite, two on PostgreSQL. SQLite has one writer: a second worker's batch only waits
    # for the first's write lock, in the sleeps of SQLite's busy handler (docs/benchmarks.md, run L).
    reminder_consumer_workers: int | None = Field(None, ge=1, le=16)
    deadline_timer_batch: int = Field(500, ge=1, le=5000)
    # While fired reminders wait in their consumer (a burst), the webhook fan-out, the feeds and the
    # outbox relay wait before their next batch, up to this many seconds at a time (0: they never wait):
    # the inbox items are what is late otherwise; e-mail, webhooks and feeds catch up after the burst.
    reminders_first_seconds: float = Field(10.0, ge=0, le=300)
    # How often every replica looks for deadlines whose timers in NATS lag behind the database.
    deadline_reconcile_seconds: float = Field(30.0, gt=0)
    # A fired reminder message is kept this long in the SCHEDULES stream (per-message TTL).
    reminder_retention_hours: int = Field(24 * 30, ge=1)
    # The iCalendar feed: open deadlines ending at most this many days ago, at most this many.
    calendar_feed_days_back: int = Field(30, ge=0, le=3660)
    calendar_feed_max_events: int = Field(2000, ge=1, le=20000)

    # E-mail (SMTP). The development default is a local debugging server that is usually not running
    # (`python -m aiosmtpd -n -l 127.0.0.1:1025` prints what it receives): without one, e-mail
    # deliveries fail to connect, are retried like webhooks and end `dead`, all in the delivery log.
    # Retries, backoff, attempts and leases are the webhook settings above: one worker sends both.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(1025, ge=1, le=65535)
    # none: plain SMTP (a local relay); starttls: upgrade after connecting (port 587); tls: implicit
    # TLS from the first byte (port 465).
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(30.0, gt=0, le=300)
    email_from: str = "Comitas <notifications@comitas.localhost>"
    # The right-hand side of every Message-ID (``<delivery id>@<this>``); default: the From domain.
    email_message_id_domain: str | None = None
    # The language of an institution whose directory entry names none of English, French, Spanish.
    email_default_language: str = "en"
    # Daily digests: sent at this local hour in the institution's time zone (the directory's; this
    # zone when it names none), each covering the day since the previous one.
    digest_hour: int = Field(8, ge=0, le=23)
    digest_default_time_zone: str = "UTC"

    # The institutions directory: identity's entries follow its events; the notification contact
    # (addresses, language) is read from identity's API with this client's credentials
    # (client_credentials, scopes directory:read directory:contacts). Without them e-mail goes nowhere.
    identity_url: str = "http://127.0.0.1:8000"
    identity_client_id: str | None = None
    identity_client_secret: SecretStr | None = None
    # How often every replica looks for contacts to read again (a changed entry wakes it at once).
    directory_refresh_seconds: float = Field(60.0, gt=0)

    # Member organisations' NATS feeds (ADR 0033). Enabled: every event that concerns an institution is
    # copied, minimised, to the FEEDS stream (feed.<institution_id>.<context>.<event>) and each
    # institution gets a platform-owned durable consumer. Credentials for subscribers need the
    # operator's material (comitas_shared.nats_auth, `python -m comitas_shared.nats_auth init <dir>`)
    # and NATS in operator mode; without it the feeds run but POST /v1/feeds/credentials answers 503.
    feeds_enabled: bool = False
    feeds_operator_dir: str | None = None
    # Where subscribers connect, as GET /v1/feeds tells them (default: nats_url).
    feeds_public_nats_url: str | None = None
    feeds_retention_days: int = Field(90, ge=1, le=3660)
    # Until an event a subscriber received and did not acknowledge is delivered again.
    feeds_ack_wait_seconds: float = Field(30.0, ge=1, le=3600)
    feeds_max_ack_pending: int = Field(1000, ge=1, le=100_000)
    feeds_credentials_days: int = Field(90, ge=1, le=3660)
    # Part of every institution account's key derivation: bumping it re-keys every account.
    feeds_account_key_version: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _coherent(self) -> NotificationsSettings:
        if self.environment == "production" and self.allow_private_webhook_targets:
            raise ValueError("allow_private_webhook_targets is refused in production")
        if (self.environment == "production" and self.smtp_security == "none"
                and self.smtp_host not in {"127.0.0.1", "::1", "localhost"}):
            raise ValueError("smtp_security none is refused in production except to a relay on this host")
        try:
            ZoneInfo(self.digest_default_time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"digest_default_time_zone: unknown zone {self.digest_default_time_zone!r}") from exc
        if self.feeds_operator_dir and not self.feeds_enabled:
            raise ValueError("feeds_operator_dir needs feeds_enabled")
        if any(d <= 0 for d in self.deadline_reminder_days):
            raise ValueError("deadline_reminder_days must be positive")
        return self
