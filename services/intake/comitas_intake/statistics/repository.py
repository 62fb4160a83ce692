"""Every query on the statistics table; each takes the institution."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId

from .models import StatisticsCase


async def set_status(session: AsyncSession, institution_id: InstitutionId, complaint_id: str, status: str) -> None:
    """One statement; no row (a complaint never counted) is no change."""
    await session.execute(update(StatisticsCase)
                          .where(StatisticsCase.institution_id == institution_id,
                                 StatisticsCase.complaint_id == complaint_id)
                          .values(status=status))


async def put(session: AsyncSession, institution_id: InstitutionId, complaint_id: str, **values: Any) -> None:
    """The complaint's row, inserted or replaced in one statement (``INSERT … ON CONFLICT DO UPDATE``, which
    PostgreSQL and SQLite both have): a submission counts with one round trip instead of a read and a write.
    The conflict is on the complaint id alone, so the update is guarded by the institution: another
    institution's row is never rewritten."""
    table = StatisticsCase.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(complaint_id=complaint_id, institution_id=institution_id, **values)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.complaint_id], set_={name: statement.excluded[name] for name in values},
        where=table.c.institution_id == institution_id))


async def all_of(session: AsyncSession, institution_id: InstitutionId) -> list[StatisticsCase]:
    query = select(StatisticsCase).where(StatisticsCase.institution_id == institution_id)
    return list((await session.execute(query)).scalars())
