"""intake service: the FastAPI app, built from its settings."""

from __future__ import annotations

from fastapi import FastAPI

from comitas_shared.app import create_service_app

from .assessments.router import router as assessments_router
from .assessments.rules_provider import load_rules
from .complaints.router import router as complaints_router
from .models import load_all_models, tables
from .settings import IntakeSettings


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    load_all_models()
    # Loaded before anything starts: a malformed rule file stops start-up, naming the file and field.
    rules = load_rules(settings.rules_dir, settings.acceptances_dir)
    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas intake",
        description="Complaints, victims' data, evidence, consent and admissibility assessment.",
        routers=[complaints_router, assessments_router],
    )
    app.state.rules = rules
    return app
