"""notifications service: the FastAPI app, built from its settings."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event as sa_event

from comitas_shared.app import Platform, create_service_app
from comitas_shared.db import Database
from comitas_shared.events.consumer import DurableConsumer

from .calendar_feed.access_log import install_access_log_redaction
from .calendar_feed.router import router as calendar_feed_router
from .deadlines.consumers import deadline_consumer, reminder_consumer
from .deadlines.policy import ReminderPolicy
from .deadlines.router import router as deadlines_router
from .deadlines.router import settings_router as reminder_settings_router
from .deadlines.service import SYNC_TIMERS, warm_calendars
from .deadlines.timers import DeadlineTimers, schedules_stream_provisioner
from .deliveries.consumers import webhook_consumer
from .deliveries.email_channel import profile_defaults
from .deliveries.router import router as deliveries_router
from .deliveries.service import WAKE_WORKER, DigestPolicy
from .deliveries.worker import DeliveryWorker
from .directory.consumers import directory_consumer
from .directory.contacts import ContactReader, IdentityDirectory
from .directory.router import router as directory_router
from .directory.service import READ_CONTACTS
from .feeds.broker import FeedBroker
from .feeds.consumers import feed_accounts_consumer, feeds_consumer
from .feeds.router import router as feeds_router
from .inbox.router import router as inbox_router
from .models import load_all_models, tables
from .settings import NotificationsSettings
from .signing_secrets import SecretBox
from .subscriptions.router import router as subscriptions_router
from .webhook_targets import system_resolver


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    load_all_models()
    reminder_policy = ReminderPolicy.from_settings(settings)
    # Calendar clients carry the feed's token in the URL: uvicorn's access log must not print it.
    install_access_log_redaction()

    digests = DigestPolicy(hour=settings.digest_hour, time_zone=settings.digest_default_time_zone)

    def consumers(platform: Platform) -> Sequence[DurableConsumer[Any]]:
        reminders = reminder_consumer(platform, settings, reminder_policy)
        # Fired reminders first (settings.reminders_first_seconds): during a burst the work that follows
        # from them (publishing their events, fanning them out) waits rather than delays the next ones.
        first = reminders.behind if settings.reminders_first_seconds > 0 else None
        wait = settings.reminders_first_seconds
        platform.relay.give_way_to, platform.relay.give_way_seconds = first, wait
        found: list[DurableConsumer[Any]] = [
            webhook_consumer(platform, digests, give_way_to=first, give_way_seconds=wait),
            deadline_consumer(platform, settings), reminders, directory_consumer(platform)]
        if settings.feeds_enabled:
            found += [feeds_consumer(platform, app.state.feeds, give_way_to=first, give_way_seconds=wait),
                      feed_accounts_consumer(platform, app.state.feeds)]
        return found

    async def start(platform: Platform, app: FastAPI) -> None:
        app.state.worker.start()
        app.state.timers.start()
        platform.background.append(asyncio.create_task(asyncio.to_thread(warm_calendars), name="warm-calendars"))
        app.state.contacts.start()

    async def stop(platform: Platform, app: FastAPI) -> None:
        await app.state.worker.stop()
        await app.state.timers.stop()
        await app.state.contacts.stop()

    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas notifications",
        description="Subscriptions and their deliveries (signed webhooks, e-mail, daily digests), legal deadlines "
                    "with durable reminders, the institutions' inbox, and each member organisation's own NATS feed.",
        routers=[subscriptions_router, deliveries_router, directory_router, deadlines_router,
                 reminder_settings_router, inbox_router, calendar_feed_router, feeds_router],
        consumers=consumers,
        on_startup=[start],
        on_shutdown=[stop],
    )
    platform: Platform = app.state.platform
    secrets = SecretBox(settings.master_key.get_secret_value())
    # What deps.py hands to routers, and the background workers the start/stop hooks drive.
    app.state.secrets = secrets
    app.state.resolver = system_resolver
    app.state.worker = DeliveryWorker(database=platform.database, settings=settings, secrets=secrets,
                                      clock=lambda: platform.clock())
    app.state.mailer = app.state.worker.channels["email"]
    app.state.profile_defaults = profile_defaults(settings)
    identity = IdentityDirectory(
        platform.http, identity_url=settings.identity_url, client_id=settings.identity_client_id,
        client_secret=settings.identity_client_secret.get_secret_value() if settings.identity_client_secret else None)
    app.state.contacts = ContactReader(database=platform.database, directory=identity,
                                       every_seconds=settings.directory_refresh_seconds, clock=lambda: platform.clock())
    app.state.reminder_policy = reminder_policy
    app.state.timers = DeadlineTimers(database=platform.database, nats=platform.nats, settings=settings,
                                      policy=reminder_policy)
    platform.nats.on_ready(schedules_stream_provisioner(settings.nats_stream_replicas))
    app.state.feeds = FeedBroker(nats_handle=platform.nats, settings=settings)
    platform.nats.on_ready(app.state.feeds.provisioner())
    _after_commit(platform.database, app.state)
    return app


def _after_commit(database: Database, state: Any) -> None:
    """Work that must follow a commit, never precede it: waking the delivery worker and the contact
    reader, and bringing deadline timers in NATS in step with the rows just committed. The workers are
    looked up on the app's state at each commit, so a worker restarted in place is the one woken."""

    def after_commit(session) -> None:
        if session.info.pop(WAKE_WORKER, False):
            state.worker.wake()
        if session.info.pop(READ_CONTACTS, False):
            state.contacts.wake()
        changed = session.info.pop(SYNC_TIMERS, None)
        if changed:
            state.timers.request_sync(set(changed))

    def after_rollback(session) -> None:
        session.info.pop(WAKE_WORKER, None)
        session.info.pop(READ_CONTACTS, None)
        session.info.pop(SYNC_TIMERS, None)

    sa_event.listen(database.sync_session_class, "after_commit", after_commit)
    sa_event.listen(database.sync_session_class, "after_rollback", after_rollback)
