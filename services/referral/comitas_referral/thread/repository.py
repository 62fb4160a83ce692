"""Queries on a referral's thread, each as the viewer sees it (``viewed_by``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest
from comitas_shared.visibility import viewed_by

from .models import Message

OLDEST_FIRST = PageKey(at=Message.posted_at, id=Message.id, ascending=True)


async def add(session: AsyncSession, row: Message) -> None:
    session.add(row)
    await session.flush()


async def page(session: AsyncSession, viewer: InstitutionId, referral_id: str, request: PageRequest) -> list[Message]:
    query = OLDEST_FIRST.apply(select(Message).where(Message.referral_id == referral_id), request)
    return list((await session.execute(viewed_by(query, viewer))).scalars())
