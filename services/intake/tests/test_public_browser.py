"""The public channel as a person uses it, in Chromium (Playwright, the system's Chromium, headless, no
JavaScript needed by the pages): fill in the form, get the receipt code, read the status with it, write
to the institution, read its answer, withdraw a permission; a bot filling the honeypot is refused; the
receiving institution sees the complaint and the messages. A screenshot of the form goes to
var/screenshots/ (ignored by git)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from consent_evidence_kit import client
from public_kit import public_intake

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
STORY = "Soldiers came to our village at night and took my father away. Nobody tells us where he is."

# The system Chromium, installed by `make test` (its `browsers` step); a missing browser is a failure.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
async def receiver(stack):
    return await stack.new_institution("Browser channel receiver", kind="nhri")


@pytest.fixture(scope="module")
async def served(stack, receiver, tmp_path_factory):
    app = await public_intake(stack, tmp_path_factory.mktemp("browser-evidence"), receiver.institution_id)
    yield app
    await app.stop()


@pytest.fixture(scope="module")
async def chromium():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        await browser.close()


async def test_a_person_uses_the_channel_in_chromium(stack, served, receiver, chromium):
    # No JavaScript at all: the channel must work for a person whose browser runs none.
    context = await chromium.new_context(java_script_enabled=False, locale="fr-FR",
                                         extra_http_headers={"X-Forwarded-For": "192.0.2.10"})
    page = await context.new_page()
    await page.goto(f"{served.url}/public/complaints/new")
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.locator("fieldset legend").count() >= 4
    await page.get_by_label("Tell us what happened").fill(STORY)
    await page.get_by_label("When did it happen?").fill("2026-09-14")
    await page.get_by_label("Where? (town, place)").fill("Kidal")
    await page.get_by_label("Country where it happened (two-letter code, e.g. FR)").fill("ML")
    await page.get_by_label("Which state is responsible? (two-letter code)").fill("ML")
    await page.get_by_label("I write for someone else (a relative…)").check()
    await page.get_by_label("If you write for someone else: who are they to you?").select_option("child")
    await page.get_by_label("Name of the person this happened to (optional)").fill("Moussa Ag Intalla")
    await page.get_by_label("Your contact").fill("+223 70 00 00 00")
    await page.get_by_label("It is safe to contact me this way").check()
    await page.get_by_label("The person is detained now").check()
    await page.get_by_label("The institution may use my name", exact=False).check()
    await page.get_by_label("It may send them to another human-rights institution", exact=False).check()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "public-complaint-form.png"), full_page=True)
    await asyncio.sleep(1.1)  # a person takes longer than the form's minimum
    await page.get_by_role("button", name="Send my complaint").click()

    await page.wait_for_selector("#receipt-code")
    code = (await page.locator("#receipt-code").inner_text()).strip()
    assert len(code.replace("-", "")) == 24
    await page.screenshot(path=str(SCREENSHOTS / "public-receipt.png"), full_page=True)

    # The receiving institution sees the complaint.
    async with await client(stack, served, receiver) as institution:
        listed = (await institution.get("/v1/complaints", params={"limit": 100})).json()["items"]
        (complaint,) = [c for c in listed if c["channel"] == "public_form"]
        read = await institution.get(f"/v1/complaints/{complaint['id']}", headers={"Comitas-Purpose": "handle"})
        assert read.json()["summary"] == STORY
        assert read.json()["urgency"]["detention"] is True

    # Following the complaint with the code, typed in lower case.
    await page.goto(f"{served.url}/public/status")
    await page.get_by_label("Receipt code").fill(code.lower())
    await page.get_by_role("button", name="See my complaint").click()
    assert (await page.locator("#status-label").inner_text()) == "Received"
    assert "receipt_code" not in page.url and code not in page.url

    await page.get_by_label("Write to the institution").fill("My mother can be reached in Bamako too.")
    await page.get_by_role("button", name="Send message").click()
    assert "Your message was sent" in await page.content()

    async with await client(stack, served, receiver) as institution:
        thread = (await institution.get(f"/v1/complaints/{complaint['id']}/public-messages")).json()["items"]
        assert [m["body"] for m in thread] == ["My mother can be reached in Bamako too."]
        answered = await institution.post(f"/v1/complaints/{complaint['id']}/public-messages",
                                          json={"body": "We asked the authorities where he is held."})
        assert answered.status_code == 201

    await page.goto(f"{served.url}/public/status")
    await page.get_by_label("Receipt code").fill(code)
    await page.get_by_role("button", name="See my complaint").click()
    assert "We asked the authorities where he is held." in await page.content()

    await page.get_by_label("It may send them to another human-rights institution", exact=False).check()
    await page.get_by_role("button", name="Withdraw").click()
    assert "3 permission(s) withdrawn" in await page.content()
    assert await page.get_by_label("It may send them to another human-rights institution",
                                   exact=False).is_disabled()
    await page.screenshot(path=str(SCREENSHOTS / "public-status.png"), full_page=True)

    # A wrong code is refused with a page that says so.
    await page.goto(f"{served.url}/public/status")
    await page.get_by_label("Receipt code").fill("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA")
    async with page.expect_response(lambda r: r.url.endswith("/public/status")) as answer:
        await page.get_by_role("button", name="See my complaint").click()
    assert (await answer.value).status == 404
    assert "No complaint has this receipt code" in await page.content()
    await context.close()


async def test_a_bot_filling_the_honeypot_is_refused_in_chromium(stack, served, receiver, chromium):
    context = await chromium.new_context(extra_http_headers={"X-Forwarded-For": "192.0.2.20"})
    page = await context.new_page()
    await page.goto(f"{served.url}/public/complaints/new")
    await page.get_by_label("Tell us what happened").fill("Buy cheap watches at our shop, best prices here.")
    # What a bot does: fill every field it finds, the hidden one too.
    await page.evaluate("document.getElementById('website').value = 'http://spam.example'")
    await asyncio.sleep(1.1)
    async with page.expect_response(lambda r: r.url.endswith("/public/complaints")) as answer:
        await page.get_by_role("button", name="Send my complaint").click()
    assert (await answer.value).status == 422
    assert await page.locator("#receipt-code").count() == 0
    async with await client(stack, served, receiver) as institution:
        listed = (await institution.get("/v1/complaints", params={"limit": 100})).json()["items"]
        assert not any("watches" in str(c) for c in listed)
        assert len([c for c in listed if c["channel"] == "public_form"]) <= 1
    await context.close()
