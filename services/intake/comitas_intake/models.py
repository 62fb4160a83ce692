"""intake's tables share one registry (its own MetaData), which its migrations describe."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from comitas_shared.db import make_base, new_registry
from comitas_shared.platform_tables import define_platform_tables

registry = new_registry()
Base = make_base(registry)
metadata = registry.metadata
tables = define_platform_tables(metadata)


async def insert_row(session: AsyncSession, row: SQLModel) -> None:
    """Writes a new row with one Core INSERT of its columns, bypassing the ORM's unit of work (a
    submission's hot path: the flush's bookkeeping cost more than the statement). The object stays
    outside the session: a later read in the same transaction loads the row afresh, and changes to the
    object are not written."""
    table: Any = row.__table__  # type: ignore[attr-defined]
    await session.execute(insert(table).values({column.name: getattr(row, column.key) for column in table.columns}))


def load_all_models() -> None:
    """Import every module that declares tables, so the metadata is complete (migrations, checks)."""
    from .assessments import models as _assessments  # noqa: F401
    from .complaints import models as _complaints  # noqa: F401
    from .compliance import models as _compliance  # noqa: F401
    from .consent import models as _consent  # noqa: F401
    from .duplicates import models as _duplicates  # noqa: F401
    from .evidence import models as _evidence  # noqa: F401
    from .filings import models as _filings  # noqa: F401
    from .patterns import models as _patterns  # noqa: F401
    from .proceedings import models as _proceedings  # noqa: F401
    from .protection import models as _protection  # noqa: F401
    from .public import models as _public  # noqa: F401
    from .statistics import models as _statistics  # noqa: F401
    from .transfers import models as _transfers  # noqa: F401
