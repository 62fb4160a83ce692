"""The portal's tables share one registry (its own MetaData), which its migrations describe. The portal
owns sessions only: everything an officer sees is read from the services' APIs at the moment it is shown."""

from __future__ import annotations

from comitas_shared.db import make_base, new_registry
from comitas_shared.platform_tables import define_platform_tables

registry = new_registry()
Base = make_base(registry)
metadata = registry.metadata
tables = define_platform_tables(metadata)


def load_all_models() -> None:
    """Import every module that declares tables, so the metadata is complete (migrations, checks)."""
    from .sessions import models as _sessions  # noqa: F401
