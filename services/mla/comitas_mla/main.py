"""mla service: the FastAPI app, built from its settings."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from comitas_shared.app import create_service_app
from comitas_shared.evidence import EvidenceStore, storage_from_settings
from comitas_shared.visibility import install_visibility

from .directory import Directory
from .legal_bases.catalogue import load_legal_bases
from .legal_bases.router import router as legal_bases_router
from .models import shared_models, tables
from .requests.router import router as requests_router
from .results.router import UPLOAD_PATH
from .results.router import router as results_router
from .settings import MlaSettings


def create_app(settings: MlaSettings | None = None) -> FastAPI:
    settings = settings or MlaSettings()
    # Loaded before anything starts: a malformed legal-basis file stops start-up, naming the file and field.
    bases = load_legal_bases(Path(settings.legal_bases_dir) if settings.legal_bases_dir else None)
    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas mla",
        description="Mutual legal assistance between states' central authorities: legal bases, complete requests, "
                    "their lifecycle and deadlines, and the evidence returned.",
        routers=[legal_bases_router, requests_router, results_router],
        larger_bodies=[("POST", UPLOAD_PATH, settings.max_result_bytes)],
    )
    platform = app.state.platform
    # Every MLA row is seen by its two authorities only: each query must say whose view it is.
    install_visibility(platform.database.sync_session_class, shared_models())
    app.state.legal_bases = bases
    app.state.directory = Directory(platform.http, settings.identity_url)
    app.state.evidence = build_store(settings)
    return app


def build_store(settings: MlaSettings) -> EvidenceStore:
    return EvidenceStore(storage_from_settings(settings), max_bytes=settings.max_result_bytes,
                         spool_dir=settings.evidence_spool_dir)
