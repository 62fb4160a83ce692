"""Every query on institutions.

The directory is the one deliberately cross-institution read in the platform: any holder of
``directory:read`` sees every institution's public entry, so these functions take no caller. Who may
change an entry is decided by the service before it calls :func:`save`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.pagination import PageKey, PageRequest

from .models import Institution

# Registration order: a directory reads like a register, oldest entry first.
DIRECTORY_ORDER = PageKey(at=Institution.created_at, id=Institution.id, ascending=True)


async def get(session: AsyncSession, institution_id: str) -> Institution | None:
    # populate_existing: after save() the identity map would otherwise hand back the row as it was.
    return await session.get(Institution, institution_id, populate_existing=True)


async def active_ids(session: AsyncSession, institution_ids: set[str]) -> set[str]:
    if not institution_ids:
        return set()
    found = await session.execute(
        select(Institution.id).where(Institution.id.in_(institution_ids), Institution.active.is_(True)))
    return set(found.scalars().all())


async def active_kinds(session: AsyncSession, institution_ids: set[str]) -> dict[str, str]:
    if not institution_ids:
        return {}
    found = await session.execute(
        select(Institution.id, Institution.kind).where(Institution.id.in_(institution_ids), Institution.active.is_(True)))
    return {row.id: row.kind for row in found}


async def add(session: AsyncSession, institution: Institution) -> None:
    session.add(institution)
    await session.flush()


async def save(session: AsyncSession, institution_id: str, *, expected_version: int, values: dict[str, Any]) -> bool:
    """Writes ``values`` and the next version, if the entry is still at ``expected_version``; False when a
    concurrent change came first (then nothing is written)."""
    result = await session.execute(
        update(Institution)
        .where(Institution.id == institution_id, Institution.version == expected_version)
        .values(**values, version=expected_version + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def page(session: AsyncSession, request: PageRequest, *, kind: str | None = None,
               country: str | None = None, active: bool | None = None,
               accepts_referrals: bool | None = None) -> list[Institution]:
    """Up to ``request.limit + 1`` institutions in registration order (the extra row says there is more)."""
    query = select(Institution)
    if kind is not None:
        query = query.where(Institution.kind == kind)
    if country is not None:
        query = query.where(Institution.country == country.upper())
    if active is not None:
        query = query.where(Institution.active == active)
    if accepts_referrals is not None:
        query = query.where(Institution.accepts_referrals == accepts_referrals)
    return list((await session.execute(DIRECTORY_ORDER.apply(query, request))).scalars().all())
