"""Alembic environment of the identity service (driven by comitas_shared.migrations)."""

from alembic import context

from comitas_identity.models import load_all_models, metadata
from comitas_shared.migrations import run_env

load_all_models()
run_env(context, metadata)
