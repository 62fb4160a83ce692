"""intake's tables share one registry (its own MetaData), which its migrations describe."""

from __future__ import annotations

from comitas_shared.db import make_base, new_registry
from comitas_shared.platform_tables import define_platform_tables

registry = new_registry()
Base = make_base(registry)
metadata = registry.metadata
tables = define_platform_tables(metadata)


def load_all_models() -> None:
    """Import every module that declares tables, so the metadata is complete (migrations, checks)."""
    from .assessments import models as _assessments  # noqa: F401
    from .complaints import models as _complaints  # noqa: F401
