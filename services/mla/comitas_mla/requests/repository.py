"""Every query on MLA requests and their rows. Each takes the viewer (the caller's institution) and runs
as that viewer sees it (``viewed_by``): only the requesting and the requested authority find a request,
anyone else finds nothing (404)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest
from comitas_shared.visibility import viewed_by

from .models import MlaRequest, RequestDeadline, RequestTransition, StatusRequest, Translation

NEWEST_FIRST = PageKey(at=MlaRequest.created_at, id=MlaRequest.id)
OLDEST_FIRST = PageKey(at=RequestTransition.at, id=RequestTransition.id, ascending=True)


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get(session: AsyncSession, viewer: InstitutionId, request_id: str, *,
              for_update: bool = False) -> MlaRequest | None:
    query = select(MlaRequest).where(MlaRequest.id == request_id)
    if for_update:
        # Serialises two actions on one request on PostgreSQL; SQLite has one writer anyway.
        query = query.with_for_update()
    result = await session.execute(viewed_by(query, viewer))
    return result.scalar_one_or_none()


async def page(session: AsyncSession, viewer: InstitutionId, request: PageRequest, *, role: str | None,
               state: str | None) -> list[MlaRequest]:
    query = select(MlaRequest)
    if role == "requesting":
        query = query.where(MlaRequest.requesting_institution_id == viewer)
    elif role == "requested":
        query = query.where(MlaRequest.requested_institution_id == viewer)
    if state is not None:
        query = query.where(MlaRequest.state == state)
    result = await session.execute(viewed_by(NEWEST_FIRST.apply(query, request), viewer))
    return list(result.scalars())


async def transitions(session: AsyncSession, viewer: InstitutionId, request_id: str,
                      request: PageRequest) -> list[RequestTransition]:
    query = OLDEST_FIRST.apply(select(RequestTransition).where(RequestTransition.request_id == request_id), request)
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def deadlines(session: AsyncSession, viewer: InstitutionId, request_id: str) -> list[RequestDeadline]:
    query = (select(RequestDeadline).where(RequestDeadline.request_id == request_id)
             .order_by(RequestDeadline.created_at, RequestDeadline.id))
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def translations(session: AsyncSession, viewer: InstitutionId, request_id: str) -> list[Translation]:
    query = select(Translation).where(Translation.request_id == request_id).order_by(Translation.language)
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def status_requests(session: AsyncSession, viewer: InstitutionId, request_id: str) -> list[StatusRequest]:
    query = (select(StatusRequest).where(StatusRequest.request_id == request_id)
             .order_by(StatusRequest.asked_at, StatusRequest.id))
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def status_request(session: AsyncSession, viewer: InstitutionId, request_id: str,
                         status_request_id: str) -> StatusRequest | None:
    query = select(StatusRequest).where(StatusRequest.request_id == request_id,
                                        StatusRequest.id == status_request_id)
    return (await session.execute(viewed_by(query, viewer))).scalar_one_or_none()
