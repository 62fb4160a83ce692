"""Register and read institutions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.errors import NotFound
from comitas_shared.pagination import Page, PageRequest, encode_cursor

from ..models import Institution, utc
from . import repository
from .domain import check_institution, new_institution_id
from .schemas import InstitutionOut


async def register(session: AsyncSession, *, name: str, kind: str, country: str, institution_id: str | None,
                   now: datetime) -> str:
    name, kind, country = check_institution(name=name, kind=kind, country=country,
                                            institution_id=institution_id)
    institution_id = institution_id or new_institution_id()
    if await repository.get(session, institution_id) is not None:
        raise ValueError(f"institution {institution_id} already exists")
    await repository.add(session, Institution(id=institution_id, name=name, kind=kind, country=country,
                                              active=True, created_at=now))
    return institution_id


async def get(session: AsyncSession, institution_id: str) -> InstitutionOut:
    row = await repository.get(session, institution_id)
    if row is None:
        raise NotFound(f"no institution {institution_id}")
    return InstitutionOut.of(row)


async def list_page(session: AsyncSession, request: PageRequest, *, kind: str | None, country: str | None,
                    active: bool | None) -> Page[InstitutionOut]:
    rows = await repository.page(session, request, kind=kind, country=country, active=active)
    more = len(rows) > request.limit
    rows = rows[:request.limit]
    cursor = encode_cursor(utc(rows[-1].created_at), rows[-1].id) if more and rows else None
    return Page[InstitutionOut](items=[InstitutionOut.of(r) for r in rows], next_cursor=cursor)
