"""Calendar feeds: created (token shown once, only its hash kept), listed, revoked, and served to
calendar clients that present the token in the URL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.errors import NotFound
from comitas_shared.events.envelope import new_event_id
from comitas_shared.idempotency import Idempotency
from comitas_shared.pagination import Page, PageRequest

from ..deadlines import service as deadlines
from . import repository
from .domain import TOKEN_PREFIX, FeedEntry, calendar_document, looks_like_token, token_hash
from .models import CalendarFeed
from .schemas import CalendarFeedCreate, CalendarFeedCreated, CalendarFeedOut

CREATE_OPERATION = "calendar_feeds.create"
FEED_PATH = "/v1/calendar-feeds"


def new_token() -> str:
    return TOKEN_PREFIX + randomness.token_urlsafe(32)


def to_out(feed: CalendarFeed) -> CalendarFeedOut:
    return CalendarFeedOut(id=feed.id, label=feed.label, created_at=feed.created_at)


def _created(feed: CalendarFeed, token: str, public_url: str) -> CalendarFeedCreated:
    url = f"{public_url.rstrip('/')}{FEED_PATH}/{token}.ics"
    webcal = "webcal://" + url.split("://", 1)[1]
    return CalendarFeedCreated(**to_out(feed).model_dump(), url=url, webcal_url=webcal, token=token)


async def create(session: AsyncSession, idempotency: Idempotency, *, institution_id: InstitutionId,
                 request: CalendarFeedCreate, idempotency_key: str | None, public_url: str,
                 now: datetime) -> tuple[int, dict[str, Any]]:
    """201 and the feed with its URL and token. A retry with the same ``Idempotency-Key`` gets the same
    feed with a new token: the first answer's token is not kept anywhere to be shown again, and a client
    that retries did not get it."""
    async with idempotency.guard(session, institution_id=institution_id, operation=CREATE_OPERATION,
                                 key=idempotency_key, body=request.model_dump(mode="json")) as call:
        if call.is_replay:
            feed = await repository.get(session, institution_id, str((call.replay_body or {}).get("id")))
            if feed is None or feed.revoked_at is not None:
                return call.replay_status or 201, dict(call.replay_body or {})
            token = new_token()
            feed.token_hash = token_hash(token)
            await session.flush()
            return 201, _created(feed, token, public_url).model_dump(mode="json")
        token = new_token()
        feed = CalendarFeed(id=new_event_id(), institution_id=institution_id, token_hash=token_hash(token),
                            label=request.label, created_at=now, revoked_at=None)
        await repository.add(session, feed)
        answer = _created(feed, token, public_url).model_dump(mode="json")
        # The stored answer leaves the token and its URLs out: only the token's hash is kept anywhere.
        Idempotency.remember(call, 201, to_out(feed).model_dump(mode="json"))
        return 201, answer


async def list_page(session: AsyncSession, *, institution_id: InstitutionId,
                    page: PageRequest) -> Page[CalendarFeedOut]:
    rows = await repository.list_page(session, institution_id, page)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


async def revoke(session: AsyncSession, *, institution_id: InstitutionId, feed_id: str, now: datetime) -> None:
    if not await repository.revoke(session, institution_id, feed_id, now):
        raise NotFound("no such calendar feed")


async def document(session: AsyncSession, *, token: str, now: datetime, days_back: int,
                   max_events: int) -> bytes | None:
    """The feed's iCalendar document, or None for a token that is wrong or revoked."""
    if not looks_like_token(token):
        return None
    feed = await repository.live_by_token_hash(session, token_hash(token))
    if feed is None:
        return None
    institution_id = institution_id_for_system(feed.institution_id)
    deadlines_out = await deadlines.for_calendar(session, institution_id=institution_id,
                                                 since=now - timedelta(days=days_back), now=now, limit=max_events)
    entries = [FeedEntry(deadline_id=d.id, title=d.title, case_ref=d.case_ref, kind=d.kind, mechanism=d.mechanism,
                         hard=d.hard, last_day=d.last_day, time_zone=d.time_zone, due_at=d.due_at,
                         calendar=d.calendar, rule=d.rule, standing=d.standing, explanation=d.explanation,
                         updated_at=d.updated_at) for d in deadlines_out]
    return calendar_document(entries, name=f"Comitas deadlines{' — ' + feed.label if feed.label else ''}", now=now)
