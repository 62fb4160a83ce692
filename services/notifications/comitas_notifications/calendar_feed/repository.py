"""Every query on calendar feeds. Each takes the caller's institution, except ``live_by_token_hash``:
a calendar client has no access token, and the feed's own token is what tells the institution."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from .models import CalendarFeed

NEWEST_FIRST = PageKey(at=CalendarFeed.created_at, id=CalendarFeed.id)


async def add(session: AsyncSession, feed: CalendarFeed) -> None:
    session.add(feed)
    await session.flush()


async def get(session: AsyncSession, institution_id: InstitutionId, feed_id: str) -> CalendarFeed | None:
    query = select(CalendarFeed).where(CalendarFeed.institution_id == institution_id, CalendarFeed.id == feed_id)
    return (await session.execute(query)).scalar_one_or_none()


async def live_by_token_hash(session: AsyncSession, token_hash: str) -> CalendarFeed | None:
    """The feed whose token hashes to ``token_hash``, unless revoked (any institution's: see above)."""
    query = select(CalendarFeed).where(CalendarFeed.token_hash == token_hash,
                                       CalendarFeed.revoked_at.is_(None))  # type: ignore[union-attr]
    return (await session.execute(query)).scalar_one_or_none()


async def list_page(session: AsyncSession, institution_id: InstitutionId, page: PageRequest) -> list[CalendarFeed]:
    query = select(CalendarFeed).where(CalendarFeed.institution_id == institution_id,
                                       CalendarFeed.revoked_at.is_(None))  # type: ignore[union-attr]
    query = NEWEST_FIRST.apply(query, page)
    return list((await session.execute(query)).scalars())


async def revoke(session: AsyncSession, institution_id: InstitutionId, feed_id: str, now: datetime) -> bool:
    feed = await get(session, institution_id, feed_id)
    if feed is None or feed.revoked_at is not None:
        return False
    feed.revoked_at = now
    await session.flush()
    return True
