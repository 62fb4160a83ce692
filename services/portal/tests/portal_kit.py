"""What the portal's tests share: the served portal, its officers, and signing in with httpx (as a
browser does: follow identity's sign-in page, post its form) or with Playwright."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[1] / "comitas_portal" / "static" / "vendor" / "axe-core-4.14.1.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "portal"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Officer:
    institution_id: str
    email: str
    password: str
    name: str
    institution: str = ""  # its institution's name in the directory


@dataclass
class Portal:
    served: Any
    stack: Any
    officers: list[Officer]
    database_url: str
    settings: Any
    referral: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.served.url)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return unescape(found.group(1))


async def sign_in(http: httpx.AsyncClient, portal: Portal, officer: Officer, *,
                  return_to: str | None = None) -> httpx.Response:
    """Signs ``officer`` in through identity with ``http`` (its cookie jar is the browser's); returns the
    portal's page after the callback."""
    start = await http.get(f"{portal.url}/auth/login", params={"return_to": return_to} if return_to else None,
                           follow_redirects=False)
    assert start.status_code == 303, start.text
    login_page = await http.get(start.headers["location"])
    assert login_page.status_code == 200, login_page.text
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', login_page.text)
    body = urlencode([(name, unescape(value)) for name, value in fields]
                     + [("email", officer.email), ("password", officer.password)])
    authorize = str(login_page.url).split("?")[0]
    answer = await http.post(authorize, content=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, follow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    callback = await http.get(answer.headers["location"], follow_redirects=False)
    assert callback.status_code == 303, callback.text
    page = await http.get(f"{portal.url}{callback.headers['location']}")
    # Said in full when it is not the page: a redirect back to sign-in has an empty body.
    assert page.status_code == 200, (page.status_code, dict(page.headers), callback.headers.get("set-cookie"),
                                     page.text[:500])
    return page


async def playwright_sign_in(page: Any, portal: Portal, officer: Officer) -> None:
    await page.goto(f"{portal.url}/")
    await page.get_by_role("link", name=re.compile("Sign in|Se connecter|Iniciar sesión")).click()
    await page.get_by_label("E-mail address").fill(officer.email)
    await page.get_by_label("Password").fill(officer.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{portal.url}/**")


async def session_row(portal: Portal, cookie: str) -> tuple[Any, dict[str, str]]:
    """The session a cookie opens, straight from the portal's database, and its tokens unsealed."""
    import json

    from comitas_portal.sessions.domain import digest
    from comitas_portal.sessions.models import PortalSession
    from comitas_shared.db import Database

    database = Database(portal.database_url)
    try:
        async with database.transaction() as session:
            row = await session.get(PortalSession, digest(cookie))
    finally:
        await database.dispose()
    assert row is not None
    opened = portal.served.app.state.sealer.open(row.sealed_tokens, bound_to=row.id_hash)
    return row, json.loads(opened)


async def expire_token(portal: Portal, cookie: str) -> None:
    """As if the session's access token had just expired (the stack's identity issues them for minutes):
    the portal goes by the expiry it recorded."""
    from sqlalchemy import update

    from comitas_portal.sessions.domain import digest
    from comitas_portal.sessions.models import PortalSession
    from comitas_shared.clock import real_now
    from comitas_shared.db import Database

    database = Database(portal.database_url)
    try:
        async with database.transaction() as session:
            await session.execute(update(PortalSession).values(token_expires_at=real_now()).where(
                PortalSession.id_hash == digest(cookie)))
    finally:
        await database.dispose()


async def identity_form(http: httpx.AsyncClient, portal: Portal, path: str, **data: str) -> httpx.Response:
    """A call to identity's introspection or revocation as the portal's own client."""
    secret = portal.settings.identity_client_secret.get_secret_value()
    return await http.post(f"{portal.stack.identity.url}{path}", data=data,
                           auth=(portal.settings.identity_client_id, secret))


def app_routes(app: Any) -> list[tuple[str, set[str]]]:
    """Every route's path and methods, through included routers (FastAPI 0.165 keeps them nested)."""
    found: list[tuple[str, set[str]]] = []

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes, prefix + (route.include_context.prefix or ""))
            elif hasattr(route, "path"):
                found.append((prefix + route.path, set(getattr(route, "methods", None) or ())))

    walk(app.routes, "")
    return found


class Keyboard:
    """Drives a page with the keyboard alone: Tab to an element (never a click), then type, Space or Enter.
    A control that cannot be reached with Tab fails the test."""

    def __init__(self, page: Any, max_tabs: int = 150) -> None:
        self.page = page
        self.max_tabs = max_tabs

    async def focus(self, locator: Any) -> None:
        await locator.wait_for()
        for _ in range(self.max_tabs):
            if await locator.evaluate("element => element === document.activeElement"):
                return
            await self.page.keyboard.press("Tab")
        raise AssertionError(f"not reachable with Tab: {locator}")

    async def type(self, locator: Any, text: str) -> None:
        await self.focus(locator)
        await self.page.keyboard.type(text)

    async def press(self, locator: Any, key: str = "Enter") -> None:
        await self.focus(locator)
        await self.page.keyboard.press(key)

    async def check(self, locator: Any) -> None:
        if await locator.get_attribute("type") == "radio":
            await self.choose_radio(locator)
            return
        await self.focus(locator)
        if not await locator.is_checked():
            await self.page.keyboard.press("Space")

    async def choose_radio(self, locator: Any) -> None:
        """A radio group is one Tab stop (its checked button); arrow keys move the choice within it."""
        name = await locator.get_attribute("name")
        await self.focus(self.page.locator(f'input[type="radio"][name="{name}"]:checked'))
        for _ in range(100):
            if await locator.is_checked():
                return
            await self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"radio not reached with the arrow keys: {locator}")

    async def choose(self, locator: Any, value: str, *, presses: int = 30) -> None:
        """A <select>'s option by arrow keys (as a person does, the list closed)."""
        await self.focus(locator)
        for _ in range(presses):
            if await locator.input_value() == value:
                return
            await self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"option {value} not reached")


async def keyboard_sign_in(page: Any, portal: Portal, officer: Officer) -> None:
    keys = Keyboard(page)
    await page.goto(f"{portal.url}/")
    async with page.expect_navigation():
        await keys.press(page.get_by_role("link", name="Sign in"))
    await keys.type(page.get_by_label("E-mail address"), officer.email)
    await keys.type(page.get_by_label("Password"), officer.password)
    async with page.expect_navigation(url=re.compile(re.escape(portal.url) + ".*")):
        await keys.press(page.get_by_role("button", name="Sign in"))


async def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page (WCAG 2.0–2.2 A and AA rules)."""
    await page.evaluate(AXE.read_text())
    result = await page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target).slice(0, 5)}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]
