"""intake service: the FastAPI app, built from its settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from comitas_shared.app import Platform, create_service_app

from .assessments.router import router as assessments_router
from .assessments.rules_provider import load_rules
from .complaints.consumers import indexing_consumer
from .complaints.router import router as complaints_router
from .compliance.router import router as compliance_router
from .consent.router import router as consent_router
from .duplicates.router import router as duplicates_router
from .evidence.router import UPLOAD_PATH as EVIDENCE_UPLOAD_PATH
from .evidence.router import router as evidence_router
from .evidence.storage import build_store
from .filings.router import router as filings_router
from .models import load_all_models, tables
from .patterns import service as patterns
from .patterns.router import router as patterns_router
from .proceedings.router import router as proceedings_router
from .protection.router import router as audit_router
from .protection.tasks import checkpoint_forever
from .public import service as public_channel
from .public.pages import router as public_pages
from .public.router import EVIDENCE_PATH as PUBLIC_EVIDENCE_PATH
from .public.router import institution_router as public_messages_router
from .public.router import router as public_router
from .settings import IntakeSettings
from .statistics.router import router as statistics_router
from .transfers.router import router as transfers_router


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    load_all_models()
    # Loaded before anything starts: a malformed rule file stops start-up, naming the file and field.
    rules = load_rules(settings.rules_dir, settings.acceptances_dir)
    keyring = settings.keyring()

    async def start(platform: Platform, app: FastAPI) -> None:
        platform.background.append(asyncio.create_task(checkpoint_forever(
            platform.database, keyring, Path(settings.audit_checkpoint_dir),
            every=settings.audit_checkpoint_seconds, clock=lambda: platform.clock()), name="audit-checkpoints"))
        platform.background.append(asyncio.create_task(patterns.detect_forever(
            platform, clock=lambda: platform.clock()), name="pattern-detection"))

    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas intake",
        description="Complaints, victims' data, evidence, consent and admissibility assessment.",
        routers=[complaints_router, assessments_router, audit_router, duplicates_router, statistics_router,
                 consent_router, evidence_router, transfers_router, filings_router, proceedings_router, compliance_router,
                 patterns_router, public_router, public_messages_router, public_pages],
        consumers=lambda platform: [indexing_consumer(platform, keyring)],
        on_startup=[start],
        # The evidence store refuses a file over its limit itself (evidence-too-large, nothing kept); the
        # platform's limit on that route is only a backstop a little above it.
        larger_bodies=[("POST", EVIDENCE_UPLOAD_PATH, settings.evidence_max_bytes + 64 * 1024),
                       ("POST", PUBLIC_EVIDENCE_PATH, settings.public_evidence_max_bytes + 64 * 1024)],
    )
    app.state.rules = rules
    app.state.keyring = keyring
    app.state.evidence_store = build_store(settings)
    app.state.public_channel = public_channel.build_channel(settings, app.state.platform)
    return app
