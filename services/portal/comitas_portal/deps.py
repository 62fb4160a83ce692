"""What the portal's routers take from the app beyond the platform: built once in ``create_app``."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from comitas_shared.app import Now
from comitas_shared.db import Session

from .sessions.service import Officer, Refresher, Sealer, current, signed_in_officer
from .settings import PortalSettings
from .upstream import Upstream
from .web import SignInRequired, check_csrf

SESSION_COOKIE = "comitas_portal_session"
SIGN_IN_COOKIE = "comitas_portal_sign_in"


def get_settings(request: Request) -> PortalSettings:
    return request.app.state.settings


def get_sealer(request: Request) -> Sealer:
    return request.app.state.sealer


def get_refresher(request: Request) -> Refresher:
    return request.app.state.refresher


def get_upstream(request: Request) -> Upstream:
    return request.app.state.upstream


def get_http(request: Request) -> httpx.AsyncClient:
    return request.app.state.platform.http


SettingsDep = Annotated[PortalSettings, Depends(get_settings)]
SealerDep = Annotated[Sealer, Depends(get_sealer)]
RefresherDep = Annotated[Refresher, Depends(get_refresher)]
UpstreamDep = Annotated[Upstream, Depends(get_upstream)]
HttpDep = Annotated[httpx.AsyncClient, Depends(get_http)]


async def maybe_officer(request: Request, session: Session, settings: SettingsDep, sealer: SealerDep,
                        refresher: RefresherDep, now: Now) -> Officer | None:
    return await signed_in_officer(session, settings, sealer, refresher, cookie=request.cookies.get(SESSION_COOKIE),
                                   now=now)


MaybeOfficer = Annotated[Officer | None, Depends(maybe_officer)]


async def signed_in(officer: MaybeOfficer) -> Officer:
    """The officer of a live session whose token still works (refreshed when it was about to expire, ADR
    0071); otherwise, when there is no session or the refresh failed, they sign in (again)."""
    if officer is None or not officer.token_usable:
        raise SignInRequired
    return officer


async def posted_by_officer(request: Request, officer: Annotated[Officer, Depends(signed_in)]) -> Officer:
    """A POST of a signed-in officer, with this session's form token (field or ``X-CSRF-Token`` header)."""
    check_csrf(officer.csrf_token, await request.form(), request.headers)
    return officer


async def signing_out_officer(request: Request, session: Session, sealer: SealerDep, now: Now) -> Officer:
    """The officer of a live session asking to sign out, with this session's form token. Their token is
    not refreshed: sign-out revokes it, and a refresh would only buy identity a token to revoke."""
    officer = await current(session, sealer, cookie=request.cookies.get(SESSION_COOKIE), now=now)
    if officer is None:
        raise SignInRequired
    check_csrf(officer.csrf_token, await request.form(), request.headers)
    return officer


CurrentOfficer = Annotated[Officer, Depends(signed_in)]
PostingOfficer = Annotated[Officer, Depends(posted_by_officer)]
SigningOutOfficer = Annotated[Officer, Depends(signing_out_officer)]
