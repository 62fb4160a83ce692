"""The journey of issue 13, in Chromium, with the keyboard alone: officer A submits a complaint, moves it
into assessment, runs the assessment, records the victim's consent and refers the case to institution B;
officer B, signed in in a second browser context and looking at Today, sees the referral arrive without
reloading, acknowledges it, asks for information and accepts it, and the referral's history says each step in
words (the states only where they changed); A, looking at Today, sees the acceptance arrive without reloading.
Screenshots of each page go to var/screenshots/portal/ (``make screenshots``)."""

from __future__ import annotations

import re

import pytest
from portal_kit import CHROMIUM, SCREENSHOTS, Keyboard, axe_violations, keyboard_sign_in

pytestmark = pytest.mark.timeout(400)
# The pages update themselves (server-sent events); the wait only bounds a slow, shared machine.
LIVE_WAIT_MS = 20_000
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
async def chromium():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        await browser.close()


async def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_refer_a_case_to_another_institution_and_see_it_accepted(portal, chromium):
    first, second = portal.officers[:2]
    a_context = await chromium.new_context(locale="en-GB", viewport=DESKTOP)
    b_context = await chromium.new_context(locale="en-GB", viewport=DESKTOP)
    a, b = await a_context.new_page(), await b_context.new_page()
    keys_a, keys_b = Keyboard(a), Keyboard(b)

    await keyboard_sign_in(a, portal, first)
    await keyboard_sign_in(b, portal, second)
    await shot(b, "today-empty")

    # A: a new complaint.
    async with a.expect_navigation():
        await keys_a.press(a.get_by_role("link", name="New complaint").first)
    await keys_a.type(a.get_by_label("What happened"), "Arrested at a demonstration in Strasbourg and held "
                                                        "for four days without a lawyer.")
    await keys_a.type(a.get_by_label("Respondent states", exact=False), "FR")
    await keys_a.type(a.get_by_label("Rights invoked", exact=False), "liberty and security")
    await keys_a.type(a.get_by_label("Name of the victim", exact=False), "Lucie Marchal")
    await shot(a, "new-complaint")
    async with a.expect_navigation(url=re.compile(r".*/cases/[^/?]+\?done=submitted")):
        await keys_a.press(a.get_by_role("button", name="Submit the complaint"))
    case_url = a.url.split("?")[0]
    assert "The complaint was submitted." in await a.content()

    # A: into assessment, then the assessment.
    await keys_a.choose(a.get_by_label("Move the case"), "start_assessment")
    async with a.expect_navigation(url=re.compile(r".*done=start_assessment")):
        await keys_a.press(a.get_by_role("button", name="Apply"))
    assert (await a.locator("#case-status").inner_text()).startswith("under assessment")
    async with a.expect_navigation(url=re.compile(r".*done=assessed.*")):
        await keys_a.press(a.get_by_role("button", name="Run the admissibility assessment"))
    assert "Not assessed yet." not in await a.content()
    await shot(a, "case")

    # A: the victim's consent, then the referral to B, chosen among the ranked candidates.
    async with a.expect_navigation():
        await keys_a.press(a.get_by_role("link", name="Refer this case"))
    await keys_a.press(a.locator("details summary"))
    await keys_a.check(a.locator("#cp-investigate"))
    # The directory's institutions by name (the shared stack's directory may hold many: arrow down to B's).
    await keys_a.choose(a.get_by_label("Recipient", exact=True), f"institution:{second.institution_id}",
                        presses=1000)
    await keys_a.check(a.locator("#cc-narrative"))
    await keys_a.check(a.locator("#cc-identity"))
    async with a.expect_navigation(url=re.compile(r".*/refer\?done=consent")):
        await keys_a.press(a.get_by_role("button", name="Record consent"))
    assert await a.locator("#done").inner_text() == "The victim's consent was recorded."
    assert second.institution in await a.locator("#consents").inner_text()

    candidate = a.locator(f"#rc-{second.institution_id}")
    for _ in range(40):  # referral's directory learns B from identity's events
        if await candidate.count():
            break
        await a.wait_for_timeout(500)
        await a.reload()
    # The complaint states its language (the form's default, the officer's: en), which B works in.
    reasons = await a.locator(".candidate", has=candidate).locator(".reasons li").all_inner_texts()
    assert "✓ works in en" in reasons, reasons
    await keys_a.check(candidate)
    await keys_a.choose(a.get_by_label("Purpose"), "investigate")
    await keys_a.check(a.locator("#sc-narrative"))
    await keys_a.type(a.get_by_label("Message to the recipient", exact=False),
                      "Could your office look into the conditions of detention?")
    await shot(a, "refer")
    assert await axe_violations(a) == []

    # B is looking at Today when the referral is sent.
    await b.goto(f"{portal.url}/")
    waiting = b.locator("#referrals li a")
    assert await waiting.count() == 0
    async with a.expect_navigation(url=re.compile(r".*/referrals/[^/?]+\?done=sent")):
        await keys_a.press(a.get_by_role("button", name="Send the referral"))
    assert (await a.locator("#referral-state").inner_text()).startswith("sent")
    await shot(a, "referral-sent")
    assert await axe_violations(a) == []
    referral_url = a.url.split("?")[0]

    await waiting.first.wait_for(timeout=LIVE_WAIT_MS)  # no reload: the page updated itself
    await shot(b, "today")
    assert await axe_violations(b) == []  # Today with a referral waiting, as the live update left it

    # A watches Today while B answers.
    await a.goto(f"{portal.url}/")
    sent = a.locator("#sent li .tag").first
    assert (await sent.inner_text()) == "sent"

    async with b.expect_navigation():
        await keys_b.press(waiting.first)
    assert b.url.split("?")[0].endswith(referral_url.removeprefix(portal.url))
    async with b.expect_navigation(url=re.compile(r".*done=acknowledge")):
        await keys_b.press(b.get_by_role("button", name="Acknowledge"))
    assert (await b.locator("#referral-state").inner_text()).startswith("acknowledged")
    await keys_b.type(b.get_by_label("Ask the sender for information"), "Is the victim still detained?")
    async with b.expect_navigation(url=re.compile(r".*done=information-requests")):
        await keys_b.press(b.get_by_role("button", name="Ask", exact=True))
    assert (await b.locator("#referral-state").inner_text()).startswith("acknowledged")
    async with b.expect_navigation(url=re.compile(r".*done=accept")):
        await keys_b.press(b.get_by_role("button", name="Accept"))
    assert (await b.locator("#referral-state").inner_text()).startswith("accepted")
    # The history says each step in words; the states only where the step changed them (asking for
    # information keeps the referral acknowledged: referral's domain.py, RULES).
    steps = await b.locator("#history li").evaluate_all(
        "rows => rows.map(row => row.innerText.slice(row.firstElementChild.innerText.length).trim())")
    assert steps == ["Referral sent (being sent → sent) sender",
                     "Receipt acknowledged (sent → acknowledged) recipient",
                     "Information requested recipient",
                     "Accepted (acknowledged → accepted) recipient"]
    # B reads what was shared, for a stated purpose (intake audits it).
    await keys_b.type(b.get_by_label("Why do you need to see them?", exact=False), "Assess our competence")
    async with b.expect_navigation():
        await keys_b.press(b.get_by_role("button", name="Read the shared data"))
    assert "Arrested at a demonstration in Strasbourg" in await b.locator("#packet").inner_text()
    await shot(b, "referral-received")
    assert await axe_violations(b) == []

    await a.locator("#sent li .tag", has_text="accepted").first.wait_for(timeout=LIVE_WAIT_MS)
    await shot(a, "today-accepted")
    assert await axe_violations(a) == []  # Today with the sent referral, now accepted

    # A's case page shows the referral in its timeline; B's officer still cannot open A's case.
    await a.goto(case_url)
    assert f"referral {second.institution} · accepted" in (await a.locator(".timeline").inner_text())
    assert (await b.goto(case_url)).status == 404
    await a_context.close()
    await b_context.close()
