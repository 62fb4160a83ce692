"""portal: the liaison officers' web client, built from its settings (a backend-for-frontend: it holds
the session and the officer's token; the browser holds an opaque cookie)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from comitas_shared.app import Platform, create_service_app

from .auth.router import router as auth_router
from .cases.router import router as cases_router
from .mla.router import router as mla_router
from .models import tables
from .preferences.router import router as preferences_router
from .referrals.router import router as referrals_router
from .sessions.service import Refresher, Sealer, browser_language, purge
from .settings import PortalSettings
from .today.router import router as today_router
from .upstream import TokenRefused, Unreachable, Upstream, UpstreamProblem
from .web import CsrfRefused, SecurityHeaders, SignInRequired, render, sign_in_redirect, static_file

static_router = APIRouter(include_in_schema=False)


@static_router.get("/static/{name}")
async def static(name: str) -> Response:
    return static_file(name)


@static_router.get("/favicon.ico")
async def favicon() -> Response:
    """Where browsers and tools look for a site's icon when a page does not name one."""
    return static_file("favicon.ico")


def _language(request: Request) -> str:
    return browser_language(request.headers.get("accept-language"))


def install_page_errors(app: FastAPI) -> None:
    """What a person sees when a page cannot be shown: sign-in again, a refused form, a missing case, a
    service that does not answer. Never a stack trace, never another institution's data."""

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, _: SignInRequired) -> Response:
        return sign_in_redirect(request)

    @app.exception_handler(TokenRefused)
    async def token_refused(request: Request, _: TokenRefused) -> Response:
        return sign_in_redirect(request)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _: CsrfRefused) -> Response:
        return render("error.html", language=_language(request), status_code=403, kind="csrf")

    @app.exception_handler(Unreachable)
    async def unreachable(request: Request, error: Unreachable) -> Response:
        return render("error.html", language=_language(request), status_code=503, kind="unreachable",
                      service=error.service)

    @app.exception_handler(UpstreamProblem)
    async def upstream_problem(request: Request, error: UpstreamProblem) -> Response:
        # A case of another institution is not found, exactly like a missing one (DESIGN §3).
        status = 404 if error.status == 404 else 502 if error.status >= 500 else error.status
        return render("error.html", language=_language(request), status_code=status,
                      kind="not_found" if status == 404 else "refused", detail=error.detail)


async def _purge_sessions(platform: Platform, app: FastAPI) -> None:
    async with platform.database.transaction() as session:
        await purge(session, now=platform.clock())


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas web client",
        description="The liaison officers' web client: server-rendered pages over the services' public APIs, "
                    "signed in through identity; the browser never holds a token.",
        routers=[static_router, auth_router, today_router, cases_router, referrals_router, mla_router,
                 preferences_router],
        on_startup=[_purge_sessions],
    )
    platform: Platform = app.state.platform
    app.state.sealer = Sealer(settings.master_key.get_secret_value())
    app.state.refresher = Refresher(settings, app.state.sealer, platform.http, platform.database, platform.clock)
    app.state.upstream = Upstream(settings, platform.http)
    install_page_errors(app)
    app.add_middleware(SecurityHeaders)
    return app
