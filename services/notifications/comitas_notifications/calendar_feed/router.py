from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response, status
from fastapi.responses import JSONResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.errors import NotFound
from comitas_shared.pagination import Page, PageQuery

from ..deps import SettingsDep
from . import service
from .schemas import CalendarFeedCreate, CalendarFeedCreated, CalendarFeedOut

router = APIRouter(prefix="/v1/calendar-feeds", tags=["calendar feeds"])

Manager = Scoped("subscriptions:manage")
ICALENDAR = "text/calendar"


# Declared first: ``/{token}.ics`` must not be taken for a feed id.
@router.get("/{token}.ics", response_class=Response, summary="The feed, for calendar clients: the token in the URL "
                                                             "is the credential (no bearer token)",
            responses={200: {"description": "an iCalendar document (RFC 5545): each open deadline an all-day "
                                            "event on its last day", "content": {ICALENDAR: {"schema": {"type": "string"}}}}})
async def feed(token: Annotated[str, Path(max_length=200)], session: Session, settings: SettingsDep,
               now: Now) -> Response:
    document = await service.document(session, token=token, now=now, days_back=settings.calendar_feed_days_back,
                                      max_events=settings.calendar_feed_max_events)
    if document is None:
        raise NotFound("no such calendar feed")
    return Response(document, media_type=f"{ICALENDAR}; charset=utf-8", headers={
        "Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CalendarFeedCreated,
             summary="A private iCalendar feed of the institution's deadlines; its URL and token are shown only in "
                     "this answer")
async def create_feed(principal: Manager, session: Session, platform: PlatformDep, settings: SettingsDep, now: Now,
                      body: CalendarFeedCreate | None = None,
                      idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> JSONResponse:
    status_code, answer = await service.create(session, platform.idempotency, institution_id=principal.institution_id,
                                               request=body or CalendarFeedCreate(), idempotency_key=idempotency_key,
                                               public_url=settings.public_url, now=now)
    headers = {"Location": f"{router.prefix}/{answer['id']}"} if "id" in answer else None
    return JSONResponse(answer, status_code=status_code, headers=headers)


@router.get("", response_model=Page[CalendarFeedOut], summary="The institution's live calendar feeds (no tokens)")
async def list_feeds(principal: Manager, session: Session, page: PageQuery) -> Page[CalendarFeedOut]:
    return await service.list_page(session, institution_id=principal.institution_id, page=page)


@router.delete("/{feed_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Revoke a feed: its URL answers 404 from now on")
async def revoke_feed(feed_id: str, principal: Manager, session: Session, now: Now) -> Response:
    await service.revoke(session, institution_id=principal.institution_id, feed_id=feed_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
