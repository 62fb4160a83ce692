"""The web client in Chromium (Playwright's async API, the system's Chromium by path): sign-in through
identity and sign-out, with the browser's cookies and storage inspected for tokens; axe-core (vendored,
injected with ``page.evaluate``) on every page; pages readable on a phone; htmx loaded without breaking
the Content-Security-Policy. Screenshots go to var/screenshots/portal/."""

from __future__ import annotations

import json
import re

import pytest
from portal_kit import CHROMIUM, SCREENSHOTS, axe_violations, expire_token, playwright_sign_in, session_row

pytestmark = pytest.mark.timeout(300)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.")


@pytest.fixture(scope="module")
async def chromium():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        await browser.close()


async def storage_of(context, page) -> str:
    """Everything the browser keeps for the site: cookies, localStorage, sessionStorage, IndexedDB names."""
    cookies = await context.cookies()
    state = await context.storage_state()
    kept = await page.evaluate("""async () => ({
        local: Object.assign({}, window.localStorage), session: Object.assign({}, window.sessionStorage),
        databases: indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : []})""")
    return json.dumps({"cookies": cookies, "state": state, "kept": kept})


async def test_sign_in_and_out_leave_no_token_in_the_browser(portal, chromium):
    officer = portal.officers[0]
    context = await chromium.new_context(locale="en-GB")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    await playwright_sign_in(page, portal, officer)
    await page.wait_for_selector("h1")
    assert "Today" in await page.locator("h1").inner_text()
    assert officer.name in await page.content()
    (session_cookie,) = [c for c in await context.cookies() if c["name"] == "comitas_portal_session"]
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"
    kept = await storage_of(context, page)
    assert not JWT.search(kept), "a token reached the browser"
    assert "access_token" not in kept and "id_token" not in kept
    # htmx and its SSE extension run under the CSP (no violation reported, the live stream connects).
    assert await page.evaluate("typeof htmx") == "object"
    assert not [e for e in errors if "Content Security Policy" in e], errors

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(re.compile(r".*/auth/signed-out.*"))
    assert "You are signed out" in await page.content()
    kept = await storage_of(context, page)
    assert not JWT.search(kept)
    assert not [c for c in await context.cookies() if c["name"] == "comitas_portal_session"]
    await page.goto(f"{portal.url}/cases")
    assert "/oauth/authorize" in page.url  # signed out: sent to identity's sign-in
    await context.close()


async def test_every_page_passes_axe_and_reads_on_a_phone(portal, chromium):
    officer = portal.officers[0]
    context = await chromium.new_context(locale="en-GB", viewport={"width": 390, "height": 844},
                                         device_scale_factor=1, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await playwright_sign_in(page, portal, officer)
    # A case of its own, so the case page has something to show.
    await page.goto(f"{portal.url}/cases/new")
    await page.get_by_label("What happened").fill("Beaten in custody at the border post; no doctor was called.")
    await page.get_by_label("Respondent states", exact=False).fill("GR")
    await page.get_by_role("button", name="Submit the complaint").click()
    await page.wait_for_url(re.compile(r".*/cases/[^/]+\?done=submitted"))
    case_url = page.url.split("?")[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    case_path = case_url.removeprefix(portal.url)
    pages = [("today", "/"), ("cases", "/cases"), ("new-complaint", "/cases/new"), ("case", case_path),
             ("refer", f"{case_path}/refer"), ("mla", "/mla"), ("settings", "/settings"),
             ("not-found", "/cases/cmp_not_there"), ("signed-out", "/auth/signed-out")]
    for name, url in pages:
        await page.goto(f"{portal.url}{url}")
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), name
        assert await axe_violations(page) == [], name
        await page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"), full_page=True)
    # Before signing in.
    signed_out = await chromium.new_context(locale="es-ES")
    welcome = await signed_out.new_page()
    await welcome.goto(f"{portal.url}/")
    assert await welcome.get_attribute("html", "lang") == "es"
    assert await axe_violations(welcome) == []
    await signed_out.close()
    await context.close()


async def test_an_expired_token_is_refreshed_behind_the_officer_s_back(portal, chromium):
    """The session's access token expires while the officer reads a page: the next page comes without
    any sign-in (the portal refreshed the token), and no token reaches the browser on the way."""
    officer = portal.officers[1]
    context = await chromium.new_context(locale="en-GB")
    page = await context.new_page()
    await playwright_sign_in(page, portal, officer)
    (session_cookie,) = [c for c in await context.cookies() if c["name"] == "comitas_portal_session"]
    before, _ = await session_row(portal, session_cookie["value"])
    await expire_token(portal, session_cookie["value"])
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url) if frame == page.main_frame else None)
    await page.goto(f"{portal.url}/cases")
    await page.wait_for_selector("h1")
    assert page.url == f"{portal.url}/cases"
    assert not [url for url in visited if "/oauth/authorize" in url or "/auth/login" in url], visited
    after, _ = await session_row(portal, session_cookie["value"])
    assert after.token_jti != before.token_jti
    assert not JWT.search(await storage_of(context, page))
    await context.close()
