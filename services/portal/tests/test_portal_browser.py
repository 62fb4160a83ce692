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
             ("not-found", "/cases/cmp_not_there"),
             ("sign-in-failed", "/auth/callback?error=access_denied&error_description=The+officer+declined"),
             ("signed-out", "/auth/signed-out")]
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


async def test_the_mla_pages_pass_axe_and_read_on_a_phone(portal, chromium):
    """The mutual legal assistance pages, each in the state a person meets it, have no serious or critical
    axe-core violation and no sideways scrolling on a phone: France's central authority drafts a request to
    Brazil's (first refused for its language, the field marked), sees it checked against UNTOC art. 18 and
    issues it; Brazil's officer opens it, cites a ground that the convention does not list (refused, the
    grounds it lists said at the field, what was typed kept) and acknowledges it."""
    france, brazil = portal.officers[2], portal.officers[3]
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True,
             "has_touch": True}
    fr_context = await chromium.new_context(locale="en-GB", **phone)
    br_context = await chromium.new_context(locale="en-GB", **phone)
    fr, br = await fr_context.new_page(), await br_context.new_page()

    async def checked(page, name: str) -> None:
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), name
        assert await axe_violations(page) == [], name
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"), full_page=True)

    await playwright_sign_in(fr, portal, france)
    await fr.goto(f"{portal.url}/mla")
    await checked(fr, "mla-empty")

    # The draft form, refused by mla for its language: the error next to the field, the summary on top.
    await fr.get_by_label("Requested central authority", exact=True).select_option(brazil.institution_id)
    await fr.get_by_label("Legal basis", exact=True).select_option("untoc_art18")
    for label, text in (
            ("Authority conducting the proceedings", "Parquet national financier, Paris"),
            ("Its functions (investigating judge, public prosecutor…)", "public prosecutor"),
            ("Subject of the proceedings", "Laundering of the proceeds of an organised trafficking network"),
            ("Offence", "Money laundering"),
            ("Summary of the facts", "Between 2023 and 2025 a criminal group moved funds through accounts "
                                     "opened in São Paulo."),
            ("Purpose of the request", "To trace the funds and establish who controls the accounts."),
            ("What exactly is asked", "Statements of account 0001-2345 at Banco Exemplo, 2023 to 2025."),
            ("Language the request is written in (two-letter code)", "p1")):
        await fr.get_by_label(label, exact=True).fill(text)
    await fr.get_by_label("Assistance asked", exact=True).select_option("bank_records")
    async with fr.expect_navigation():
        await fr.get_by_role("button", name="Save the draft").click()
    assert await fr.get_by_role("alert").locator("p").all_inner_texts() == [
        "The request was not drafted.", "Please correct what is marked."]
    language = fr.get_by_label("Language the request is written in (two-letter code)", exact=True)
    assert await language.get_attribute("aria-invalid") == "true"
    assert await language.get_attribute("aria-describedby") == "err-language"
    assert await fr.locator("#err-language").inner_text() == "Use a two-letter language code, such as fr."
    assert await language.input_value() == "p1"  # what was typed is kept
    assert await fr.get_by_label("Offence", exact=True).input_value() == "Money laundering"
    await checked(fr, "mla-draft-refused")

    await language.fill("pt")
    async with fr.expect_navigation(url=re.compile(r".*/mla/[^/?]+\?done=drafted")):
        await fr.get_by_role("button", name="Save the draft").click()
    request_url = fr.url.split("?")[0]
    assert await fr.locator("#mla-state").inner_text() == "draft"
    assert await fr.locator("#mla-complete").inner_text() == "Complete: nothing essential is missing."
    await checked(fr, "mla-request-draft")

    async with fr.expect_navigation(url=re.compile(r".*\?done=issue")):
        await fr.get_by_role("button", name="Issue the request").click()
    assert await fr.locator("#mla-state").inner_text() == "issued"
    await checked(fr, "mla-request-issued")
    await fr.goto(f"{portal.url}/mla")
    assert await fr.locator("table tbody tr").count() == 1
    await checked(fr, "mla-list")

    # Brazil's side: the answers it may give, a refusal on a ground the basis does not list, the acknowledgement.
    await playwright_sign_in(br, portal, brazil)
    await br.goto(request_url)
    assert await br.locator("#mla-state").inner_text() == "issued"
    await checked(br, "mla-request-received")
    await br.get_by_label("Ground for refusal (code of the legal basis)", exact=True).fill("no_such_ground")
    await br.get_by_label("Reasons", exact=True).fill("Not a ground of the convention.")
    await br.get_by_role("button", name="Refuse").click()
    await br.get_by_role("alert").wait_for()
    ground = br.get_by_label("Ground for refusal (code of the legal basis)", exact=True)
    assert await ground.get_attribute("aria-describedby") == "err-ground"
    assert await br.locator("#err-ground").inner_text() == (
        "This is not a ground for refusal under the request's legal basis. Its grounds are: not_in_conformity, "
        "essential_interests, domestic_law_bars, contrary_to_legal_system.")
    assert await ground.input_value() == "no_such_ground"
    assert await br.get_by_label("Reasons", exact=True).input_value() == "Not a ground of the convention."
    assert await br.locator("#mla-state").inner_text() == "issued"
    await checked(br, "mla-request-refusal-refused")
    async with br.expect_navigation(url=re.compile(r".*\?done=acknowledge")):
        await br.get_by_role("button", name="Acknowledge").click()
    assert await br.locator("#mla-state").inner_text() == "acknowledged"
    await checked(br, "mla-request-acknowledged")
    await fr_context.close()
    await br_context.close()
