from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from comitas_shared.app import Now
from comitas_shared.db import Session

from ..deps import CurrentOfficer, PostingOfficer, UpstreamDep
from ..sessions import service as sessions
from ..sessions.service import Officer
from ..upstream import UpstreamProblem
from ..web import form_fields, page
from . import service

router = APIRouter(include_in_schema=False)


async def _page(officer: Officer, upstream: UpstreamDep, *, status_code: int = 200, **shown: Any) -> Response:
    values = {"created": None, "error": None, "subscribed": None, "credentials": None, "form": {}, **shown}
    return page("settings.html", officer, current="settings", status_code=status_code,
                data=await service.overview(upstream, officer), **values)


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(officer: CurrentOfficer, upstream: UpstreamDep) -> Response:
    return await _page(officer, upstream)


@router.post("/settings/subscriptions", response_class=HTMLResponse)
async def new_subscription(request: Request, officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    form = await form_fields(request)
    try:
        created = await service.subscribe(upstream, officer, form)
    except UpstreamProblem as problem:
        if problem.status >= 500:
            raise
        return await _page(officer, upstream, status_code=problem.status, error=problem.detail, form=form)
    return await _page(officer, upstream, status_code=201, subscribed=created)


@router.post("/settings/feed-credentials", response_class=HTMLResponse)
async def new_feed_credentials(officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    try:
        credentials = await service.feed_credentials(upstream, officer)
    except UpstreamProblem as problem:
        if problem.status >= 500 and problem.status != 503:
            raise
        return await _page(officer, upstream, status_code=problem.status, error=problem.detail)
    return await _page(officer, upstream, status_code=201, credentials=credentials)


@router.post("/settings/language")
async def choose_language(request: Request, officer: PostingOfficer, session: Session, now: Now) -> Response:
    form = await request.form()
    language = str(form.get("language") or "")
    if language in sessions.LANGUAGES:
        await sessions.choose_language(session, officer, language, now=now)
    return RedirectResponse(sessions.safe_return_to(str(form.get("back") or "/")), status_code=303)


@router.post("/settings/calendar-feeds", response_class=HTMLResponse)
async def new_calendar_feed(officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    try:
        created = await service.create_calendar_feed(upstream, officer)
    except UpstreamProblem as problem:
        if problem.status >= 500:
            raise
        return await _page(officer, upstream, status_code=problem.status, error=problem.detail)
    return await _page(officer, upstream, status_code=201, created=created)
