"""The identity service's registry (its own MetaData), shared by the tables each feature declares in its
``<feature>/models.py``, beside the platform tables (outbox, inbox, idempotency keys, throttle hits)."""

from __future__ import annotations

from comitas_shared.db import make_base, new_registry
from comitas_shared.platform_tables import define_platform_tables

registry = new_registry()
metadata = registry.metadata
# Named constraints, so later migrations (SQLite batch mode included) can refer to them.
metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
Base = make_base(registry)
tables = define_platform_tables(metadata)


def load_all_models() -> None:
    """Import every module that declares tables, so the metadata is complete (migrations, checks, and
    foreign keys between features, which name their targets by table)."""
    from .institutions import models as _institutions  # noqa: F401
    from .keys import models as _keys  # noqa: F401
    from .oauth import models as _oauth  # noqa: F401
    from .users import models as _users  # noqa: F401
