"""Sign-in through identity (authorization code, PKCE S256, OpenID Connect), and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from comitas_shared.app import Now
from comitas_shared.db import Session

from ..deps import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    HttpDep,
    SealerDep,
    SettingsDep,
    SigningOutOfficer,
)
from ..sessions import service as sessions
from ..web import render

router = APIRouter(prefix="/auth", include_in_schema=False)
Text = Annotated[str | None, Query(max_length=2000)]


@router.get("/login")
async def sign_in(request: Request, session: Session, settings: SettingsDep, sealer: SealerDep, now: Now,
                  return_to: Text = None, lang: Annotated[str | None, Query(max_length=8)] = None) -> Response:
    language = lang if lang in sessions.LANGUAGES else None
    try:
        started = await sessions.start_sign_in(session, settings, sealer, return_to=return_to, language=language,
                                               now=now)
    except sessions.SignInFailed as failure:
        return render("sign_in_failed.html", language=sessions.browser_language(request.headers.get("accept-language")),
                      status_code=503, reason=str(failure))
    response = RedirectResponse(started.authorize_url, status_code=303)
    # SameSite=Lax: the callback is a top-level navigation from identity, which Lax lets through.
    response.set_cookie(SIGN_IN_COOKIE, started.browser_binding, max_age=settings.sign_in_seconds, path="/auth",
                        httponly=True, secure=settings.secure_cookie, samesite="lax")
    return response


@router.get("/callback")
async def callback(request: Request, session: Session, settings: SettingsDep, sealer: SealerDep, http: HttpDep,
                   now: Now, code: Text = None, state: Text = None, error: Text = None,
                   error_description: Text = None) -> Response:
    language = sessions.browser_language(request.headers.get("accept-language"))
    if error or not code or not state:
        return render("sign_in_failed.html", language=language, status_code=400,
                      reason=error_description or error or "")
    try:
        finished = await sessions.finish_sign_in(
            session, settings, sealer, http, state=state, code=code,
            browser_binding=request.cookies.get(SIGN_IN_COOKIE), accept_language=request.headers.get("accept-language"),
            now=now)
    except sessions.SignInFailed as failure:
        return render("sign_in_failed.html", language=language, status_code=400, reason=str(failure))
    # Signing in again (an expired token) replaces the session: the old one, if any is live, ends here.
    await sessions.end(session, settings, sealer, http, cookie=request.cookies.get(SESSION_COOKIE), now=now)
    response = RedirectResponse(finished.return_to, status_code=303)
    response.set_cookie(SESSION_COOKIE, finished.cookie_value, max_age=settings.session_max_seconds, path="/",
                        httponly=True, secure=settings.secure_cookie, samesite="lax")
    response.delete_cookie(SIGN_IN_COOKIE, path="/auth")
    return response


@router.post("/logout")
async def sign_out(request: Request, officer: SigningOutOfficer, session: Session, settings: SettingsDep,
                   sealer: SealerDep, http: HttpDep, now: Now) -> Response:
    await sessions.end(session, settings, sealer, http, cookie=request.cookies.get(SESSION_COOKIE), now=now)
    response = RedirectResponse(f"/auth/signed-out?lang={officer.language}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out(request: Request, lang: Annotated[str | None, Query(max_length=8)] = None) -> Response:
    language = lang if lang in sessions.LANGUAGES else sessions.browser_language(request.headers.get("accept-language"))
    return render("signed_out.html", language=language)
