"""referral service: the FastAPI app, built from its settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from comitas_shared.app import Platform, create_service_app
from comitas_shared.events.consumer import DurableConsumer
from comitas_shared.token_exchange import TokenExchanger
from comitas_shared.visibility import install_visibility

from .directory.consumers import directory_consumer
from .directory.reader import DirectoryReader
from .directory.router import router as directory_router
from .intake import Intake
from .models import shared_models, tables
from .receipts import service as receipts_service
from .receipts.router import router as receipts_router
from .referrals.router import router as referrals_router
from .referrals.sending import SendingWorker
from .referrals.service import Ctx
from .settings import ReferralSettings
from .thread.consumers import disclosures_consumer
from .thread.router import router as thread_router


def create_app(settings: ReferralSettings | None = None) -> FastAPI:
    settings = settings or ReferralSettings()
    secret = settings.identity_client_secret.get_secret_value() if settings.identity_client_secret else None

    def consumers(platform: Platform) -> Sequence[DurableConsumer[Any]]:
        ctx = Ctx(platform=platform, signer=app.state.receipt_signer)
        return [directory_consumer(platform), disclosures_consumer(platform, ctx)]

    async def start(platform: Platform, app: FastAPI) -> None:
        app.state.directory_reader.start()
        app.state.sending_worker.start()

    async def stop(platform: Platform, app: FastAPI) -> None:
        await app.state.directory_reader.stop()
        await app.state.sending_worker.stop()

    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas referral",
        description="Referrals and transfers of cases between institutions, with the victim's consent: who could "
                    "take a case, the referral's lifecycle and deadlines, the thread between the two sides, and "
                    "attested receipts of every hand-over.",
        # The candidates route first: /v1/referrals/candidates is not a referral id.
        routers=[directory_router, referrals_router, thread_router, receipts_router],
        consumers=consumers,
        on_startup=[receipts_service.start_receipt_keys, start],
        on_shutdown=[stop],
    )
    platform: Platform = app.state.platform
    # Every referral row is seen by its sender and (once sent) its recipient only.
    install_visibility(platform.database.sync_session_class, shared_models())
    app.state.receipt_signer = receipts_service.signer_for(
        settings, rotate_every=timedelta(days=settings.receipt_key_rotation_days))
    exchanger = TokenExchanger(platform.http, identity_url=settings.identity_url,
                               client_id=settings.identity_client_id, client_secret=secret)
    app.state.intake = Intake(platform.http, settings.intake_url, exchanger)
    app.state.directory_reader = DirectoryReader(
        http=platform.http, database=platform.database, identity_url=settings.identity_url,
        client_id=settings.identity_client_id, client_secret=secret,
        every_seconds=settings.directory_refresh_seconds, clock=lambda: platform.clock())
    app.state.sending_worker = SendingWorker(database=platform.database,
                                             timeout_seconds=settings.sending_timeout_seconds,
                                             every_seconds=settings.worker_every_seconds,
                                             clock=lambda: platform.clock())
    return app
