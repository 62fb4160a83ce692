"""Every query on deadlines. Each takes the institution; the reconciler's scan is the one query across
institutions, and it hands back each deadline's institution for the rest."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.pagination import PageRequest, paginate

from .models import Deadline


async def by_key(session: AsyncSession, institution_id: InstitutionId, deadline_key: str) -> Deadline | None:
    query = select(Deadline).where(Deadline.institution_id == institution_id, Deadline.deadline_key == deadline_key)
    return (await session.execute(query)).scalar_one_or_none()


async def get(session: AsyncSession, institution_id: InstitutionId, deadline_id: str, *,
              for_update: bool = False) -> Deadline | None:
    query = select(Deadline).where(Deadline.institution_id == institution_id, Deadline.id == deadline_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def add(session: AsyncSession, deadline: Deadline) -> None:
    session.add(deadline)
    await session.flush()


async def list_page(session: AsyncSession, institution_id: InstitutionId, page: PageRequest, *,
                    state: str | None) -> list[Deadline]:
    query = select(Deadline).where(Deadline.institution_id == institution_id)
    if state is not None:
        query = query.where(Deadline.state == state)
    query = paginate(query, page, at=Deadline.due_at, id_=Deadline.id, ascending=True)
    return list((await session.execute(query)).scalars())


async def out_of_schedule(session: AsyncSession, *, limit: int) -> list[tuple[InstitutionId, str]]:
    """Deadlines whose timers in NATS lag behind their revision (never published, moved, or closed)."""
    query = (select(Deadline.institution_id, Deadline.id)
             .where(or_(Deadline.schedule_revision.is_(None),  # type: ignore[union-attr]
                        Deadline.schedule_revision != Deadline.revision))
             .limit(limit))
    return [(institution_id_for_system(i), d) for i, d in (await session.execute(query)).all()]
