"""What every page shares: templates in the officer's language with dates in their time zone, the
security headers, the CSRF check, the vendored scripts, and the answers to a missing session.

No page holds inline script or style, so the Content-Security-Policy needs no ``unsafe-inline``; htmx is
configured by a ``<meta>`` (``includeIndicatorStyles`` and ``allowEval`` off) and ``hx-on`` is never used.
Pages work without JavaScript; htmx only spares reloads (live updates, partial swaps)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date, datetime
from functools import cache, partial
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime
from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .i18n import LANGUAGE_NAMES, LANGUAGES, label, labels, translations

if TYPE_CHECKING:
    from .sessions.service import Officer

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # The callback's URL carries the authorization code: it must not leak to another site.
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
HTMX_CONFIG = json.dumps({"includeIndicatorStyles": False, "allowEval": False, "allowScriptTags": False,
                          "selfRequestsOnly": True, "historyCacheSize": 0})
# The files the browser may fetch, by the name pages use: the vendored scripts (checked by hash in the
# tests, VENDORED.json), the portal's own style sheet and icon. axe-core is vendored for the tests only.
STATIC = {
    "htmx-2.0.11.min.js": ("vendor/htmx-2.0.11.min.js", "text/javascript"),
    "htmx-ext-sse-2.2.4.min.js": ("vendor/htmx-ext-sse-2.2.4.min.js", "text/javascript"),
    "portal.css": ("portal.css", "text/css"),
    # The site's icon: an SVG the pages link to, and the same as an .ico for what asks /favicon.ico.
    "favicon.svg": ("favicon.svg", "image/svg+xml"),
    "favicon.ico": ("favicon.ico", "image/vnd.microsoft.icon"),
}


class SecurityHeaders:
    """Adds the security headers to every answer (pages, errors, streams, static files)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class SignInRequired(Exception):
    """No live session, or its token has expired: the officer signs in (again)."""


class CsrfRefused(Exception):
    """A POST without this session's form token."""


def check_csrf(expected: str, form: Any, headers: Any) -> None:
    given = (form.get(CSRF_FIELD) if form is not None else None) or headers.get(CSRF_HEADER) or ""
    if not isinstance(given, str) or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused


@cache
def _static_body(path: str) -> bytes:
    # Read once per process: the files ship with the package, and the route runs on the event loop.
    return (resources.files(__package__) / "static" / path).read_bytes()


def static_file(name: str) -> Response:
    found = STATIC.get(name)
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    path, media_type = found
    body = _static_body(path)
    # Versioned names: a new version is a new name, so the browser may keep a file for long.
    cache_control = "public, max-age=31536000, immutable" if "vendor/" in path else "public, max-age=300"
    return Response(body, media_type=media_type, headers={"Cache-Control": cache_control})


def zone_of(name: str) -> ZoneInfo:
    """The time zone of that name; UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Formats:
    """Dates as the officer reads them: their language's form, instants in their time zone."""

    def __init__(self, language: str, time_zone: str) -> None:
        self.language = language
        self.zone = zone_of(time_zone)
        self.time_zone = time_zone

    def day(self, value: date | str | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                return value
        return format_date(value, format="medium", locale=self.language)

    def instant(self, value: datetime | str | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
        return format_datetime(value.astimezone(self.zone), format="medium", locale=self.language)


@cache
def environment(language: str) -> Environment:
    env = Environment(loader=PackageLoader("comitas_portal", "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], undefined=ChainableUndefined)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(template: str, *, language: str, time_zone: str = "UTC", status_code: int = 200,
           headers: dict[str, str] | None = None, **values: Any) -> HTMLResponse:
    language = language if language in LANGUAGES else "en"
    formats = Formats(language, time_zone)
    html = environment(language).get_template(template).render(
        lang=language, languages=LANGUAGE_NAMES, fmt=formats, htmx_config=HTMX_CONFIG, csrf_field=CSRF_FIELD,
        code=partial(label, language), codes=partial(labels, language),
        **{"officer": None, "csrf_token": "", "current": "", "back": "/", **values})
    return HTMLResponse(html, status_code=status_code,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def page(template: str, officer: Officer, *, current: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A signed-in officer's page (``current``: the menu entry it is under), in their language and time
    zone, with their session's form token."""
    return render(template, language=officer.language, time_zone=officer.time_zone, officer=officer,
                  csrf_token=officer.csrf_token, current=current, status_code=status_code, **values)


async def form_fields(request: Request, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """A posted form's text fields; those named in ``lists`` (check boxes) as lists of their values."""
    form = await request.form()
    fields: dict[str, Any] = {key: value for key, value in form.items() if isinstance(value, str)}
    for name in lists:
        fields[name] = [value for value in form.getlist(name) if isinstance(value, str)]
    return fields


def sign_in_redirect(request: Request) -> Response:
    """To sign-in, coming back to the page asked for; an htmx request is told to navigate (HX-Redirect)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("hx-request"):
        back = request.headers.get("hx-current-url", "/")
        back = "/" if "://" in back and not back.startswith(str(request.base_url)) else \
            "/" + back.removeprefix(str(request.base_url))
    target = f"/auth/login?return_to={quote(back, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
