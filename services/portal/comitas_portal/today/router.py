from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from comitas_shared.app import Now, PlatformDep

from ..deps import (
    SESSION_COOKIE,
    CurrentOfficer,
    MaybeOfficer,
    RefresherDep,
    SealerDep,
    SettingsDep,
    UpstreamDep,
)
from ..sessions import service as sessions
from ..upstream import TokenRefused
from ..web import page, render
from . import service

router = APIRouter(include_in_schema=False)
KEEP_ALIVE_SECONDS = 15.0


@router.get("/", response_class=HTMLResponse)
async def today_page(request: Request, officer: MaybeOfficer, upstream: UpstreamDep, now: Now) -> Response:
    if officer is None or not officer.token_usable:
        language = sessions.browser_language(request.headers.get("accept-language"))
        return render("welcome.html", language=language, expired=officer is not None)
    today = await service.load(upstream, officer, now=now)
    return page("today.html", officer, current="today", today=today, fingerprint=today.fingerprint())


@router.get("/today/sections", response_class=HTMLResponse)
async def today_sections(officer: CurrentOfficer, upstream: UpstreamDep, now: Now) -> Response:
    today = await service.load(upstream, officer, now=now)
    return render("today_sections.html", language=officer.language, time_zone=officer.time_zone, officer=officer,
                  today=today)


@router.get("/today/events")
async def today_events(request: Request, officer: CurrentOfficer, upstream: UpstreamDep, settings: SettingsDep,
                       sealer: SealerDep, refresher: RefresherDep, platform: PlatformDep,
                       since: Annotated[str | None, Query(max_length=64)] = None) -> StreamingResponse:
    """Server-sent events: ``changed`` whenever what Today shows changes (the page then fetches its
    sections), read from the services' APIs every ``live_poll_seconds`` with the session's token of the
    moment (refreshed as any request's, ADR 0071); ``ended`` when the session ends."""
    cookie = request.cookies.get(SESSION_COOKIE)

    async def live_officer() -> sessions.Officer | None:
        now = platform.clock()
        async with platform.database.transaction() as session:
            found = await sessions.current(session, sealer, cookie=cookie, now=now)
        # Outside that transaction: the refresh commits in transactions of its own.
        if found is not None:
            found = await refresher.fresh(found, now=now)
        return found if found is not None and found.token_usable else None

    async def stream() -> AsyncIterator[str]:
        yield f"retry: {int(settings.live_poll_seconds * 1000)}\n\n"
        last, started, quiet_since = since, time.monotonic(), time.monotonic()
        while time.monotonic() - started < settings.live_stream_seconds:
            if await request.is_disconnected():
                return
            live = await live_officer()
            if live is None:
                yield "event: ended\ndata: signed out\n\n"
                return
            try:
                fingerprint = (await service.load(upstream, live, now=platform.clock())).fingerprint()
            except TokenRefused:
                yield "event: ended\ndata: token refused\n\n"
                return
            if fingerprint != last:
                if last is not None:
                    yield f"event: changed\ndata: {fingerprint}\n\n"
                last, quiet_since = fingerprint, time.monotonic()
            elif time.monotonic() - quiet_since > KEEP_ALIVE_SECONDS:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(settings.live_poll_seconds)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
