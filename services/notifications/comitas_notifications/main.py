"""notifications service: the FastAPI app, built from its settings."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from sqlalchemy import event as sa_event

from comitas_shared.app import Platform, create_service_app
from comitas_shared.db import Database
from comitas_shared.events.consumer import EventConsumer

from .deadlines.consumers import deadline_consumer, reminder_consumer
from .deadlines.router import router as deadlines_router
from .deadlines.service import SYNC_TIMERS
from .deadlines.timers import DeadlineTimers, schedules_stream_provisioner
from .deliveries.consumers import webhook_consumer
from .deliveries.router import router as deliveries_router
from .deliveries.service import WAKE_WORKER
from .deliveries.worker import DeliveryWorker
from .inbox.router import router as inbox_router
from .models import load_all_models, tables
from .runtime import Runtime
from .settings import NotificationsSettings
from .subscriptions.router import router as subscriptions_router
from .subscriptions.secrets import SecretBox
from .subscriptions.targets import system_resolver


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    load_all_models()

    def consumers(platform: Platform) -> Sequence[EventConsumer]:
        return [webhook_consumer(platform), deadline_consumer(platform), reminder_consumer(platform)]

    async def start(platform: Platform, app: FastAPI) -> None:
        runtime: Runtime = app.state.notifications
        runtime.worker.start()
        runtime.timers.start()

    async def stop(platform: Platform, app: FastAPI) -> None:
        runtime: Runtime = app.state.notifications
        await runtime.worker.stop()
        await runtime.timers.stop()

    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas notifications",
        description="Webhook subscriptions and signed deliveries, legal deadlines with durable reminders, "
                    "and the institutions' inbox.",
        routers=[subscriptions_router, deliveries_router, deadlines_router, inbox_router],
        consumers=consumers,
        on_startup=[start],
        on_shutdown=[stop],
    )
    platform: Platform = app.state.platform
    secrets = SecretBox(settings.master_key.get_secret_value())
    runtime = Runtime(
        settings=settings, secrets=secrets, resolver=system_resolver,
        worker=DeliveryWorker(database=platform.database, settings=settings, secrets=secrets),
        timers=DeadlineTimers(database=platform.database, nats=platform.nats, settings=settings),
    )
    app.state.notifications = runtime
    platform.nats.on_ready(schedules_stream_provisioner(settings.nats_stream_replicas))
    _after_commit(platform.database, runtime)
    return app


def _after_commit(database: Database, runtime: Runtime) -> None:
    """Work that must follow a commit, never precede it: waking the delivery worker, and bringing
    deadline timers in NATS in step with the rows just committed."""

    def after_commit(session) -> None:
        if session.info.pop(WAKE_WORKER, False):
            runtime.worker.wake()
        changed = session.info.pop(SYNC_TIMERS, None)
        if changed:
            runtime.timers.request_sync(set(changed))

    def after_rollback(session) -> None:
        session.info.pop(WAKE_WORKER, None)
        session.info.pop(SYNC_TIMERS, None)

    sa_event.listen(database.sync_session_class, "after_commit", after_commit)
    sa_event.listen(database.sync_session_class, "after_rollback", after_rollback)
