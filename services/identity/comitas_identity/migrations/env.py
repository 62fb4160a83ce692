"""Alembic environment of the identity service (driven by comitas_shared.migrations)."""

from alembic import context

from comitas_identity.models import metadata
from comitas_shared.migrations import run_env

run_env(context, metadata)
