"""Queries on the directory read model. The directory is public to every holder of ``directory:read``
(identity's own rule): its entries belong to no viewer, so these functions take none (CONTRIBUTING.md,
"identity's directory": the read model is a copy of that public directory)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.db import rows_affected

from .models import DirectoryEntry


async def get(session: AsyncSession, institution_id: str) -> DirectoryEntry | None:
    return await session.get(DirectoryEntry, institution_id)


async def insert_if_absent(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Inserts the entry unless a row for its institution exists, committed or being inserted by another
    transaction (``ON CONFLICT (institution_id) DO NOTHING``: PostgreSQL waits for that transaction, SQLite
    for the write lock); True when this call inserted it. Never fails on the primary key."""
    table = DirectoryEntry.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = await session.execute(insert(table).values(**values)
                                   .on_conflict_do_nothing(index_elements=[table.c.institution_id]))
    return rows_affected(result) == 1


async def update_if_older(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Overwrites the entry's row only where its stored ``version`` is older than ``values["version"]``
    (``domain.newer``, evaluated by the database on the row as committed: on PostgreSQL a concurrent
    writer's row is waited for and the condition checked again); True when it did."""
    table = DirectoryEntry.__table__  # type: ignore[attr-defined]
    result = await session.execute(update(table).where(table.c.institution_id == values["institution_id"],
                                                       table.c.version < values["version"]).values(**values))
    return rows_affected(result) == 1


async def accepting_referrals(session: AsyncSession) -> list[DirectoryEntry]:
    """Every active institution that takes referred cases at all (candidates are ranked among them)."""
    query = (select(DirectoryEntry).where(DirectoryEntry.accepts_referrals.is_(True),  # type: ignore[attr-defined]
                                          DirectoryEntry.active.is_(True))  # type: ignore[attr-defined]
             .order_by(DirectoryEntry.institution_id))
    return list((await session.execute(query)).scalars())
