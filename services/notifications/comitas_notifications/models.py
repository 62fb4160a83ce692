"""notifications' tables share one registry (its own MetaData), which its migrations describe."""

from __future__ import annotations

from comitas_shared.db import make_base, new_registry
from comitas_shared.platform_tables import define_platform_tables

registry = new_registry()
metadata = registry.metadata
Base = make_base(registry)
tables = define_platform_tables(metadata)


def load_all_models() -> None:
    """Import every module that declares tables, so the metadata is complete (migrations, checks)."""
    from .calendar_feed import models as _calendar_feed  # noqa: F401
    from .deadlines import models as _deadlines  # noqa: F401
    from .deliveries import models as _deliveries  # noqa: F401
    from .digests import models as _digests  # noqa: F401
    from .directory import models as _directory  # noqa: F401
    from .inbox import models as _inbox  # noqa: F401
    from .subscriptions import models as _subscriptions  # noqa: F401
