"""The public channel as a person uses it, in Chromium (Playwright, the system's Chromium, headless, no
JavaScript needed by the pages), issue 9 acceptance item 5: fill in the form, get the receipt code, read
the status with it, write to the institution, read its answer, add a file through the page's file input,
withdraw a permission; wrong codes give a "not found" page and the tenth in a minute from one address
the 429 page with Retry-After; a bot filling the honeypot is refused; the receiving institution sees the
complaint, the messages and the file (its SHA-256 that of the file on disk). Screenshots go to
var/screenshots/ (ignored by git)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import pytest
from consent_evidence_kit import client
from PIL import Image
from public_kit import public_intake

from comitas_intake.public import domain

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


async def test_a_person_uses_the_channel_in_chromium(stack, served, receiver, chromium, tmp_path):
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

    # A file, through the page's file input: a real photo on disk, streamed to the evidence service.
    photo = tmp_path / "bruises.jpg"
    Image.new("RGB", (64, 48), (180, 60, 50)).save(photo, "JPEG")
    sha256 = hashlib.sha256(photo.read_bytes()).hexdigest()
    await page.get_by_label("File to send").set_input_files(photo)
    async with page.expect_response(lambda r: r.url.endswith("/public/evidence")) as answer:
        await page.get_by_role("button", name="Send file").click()
    assert (await answer.value).status == 201
    assert (await page.locator("#received-sha256").inner_text()) == sha256
    assert (await page.locator("#status-meta").inner_text()).endswith(" · 1 file(s) received")
    # The same policy as the JSON API's: an executable named .pdf is refused as what it is, nothing kept.
    disguised = tmp_path / "statement.pdf"
    disguised.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(range(256)) * 4)
    await page.get_by_label("File to send").set_input_files(disguised)
    async with page.expect_response(lambda r: r.url.endswith("/public/evidence")) as answer:
        await page.get_by_role("button", name="Send file").click()
    assert (await answer.value).status == 422
    assert "(application/x-executable) is not accepted" in await page.locator("#error").inner_text()
    assert (await page.locator("#status-meta").inner_text()).endswith(" · 1 file(s) received")

    async with await client(stack, served, receiver) as institution:
        items = (await institution.get(f"/v1/complaints/{complaint['id']}/evidence")).json()["items"]
        assert [(i["sha256"], i["size"], i["detected_type"], i["declared_type"]) for i in items] == [
            (sha256, photo.stat().st_size, "image/jpeg", "image/jpeg")]
        custody = (await institution.get(f"/v1/complaints/{complaint['id']}/evidence/{items[0]['id']}/custody")).json()
        assert custody["intact"] is True and custody["sha256"] == sha256
        assert [(e["action"], e["actor"]["client_id"], e["details"]["sha256"]) for e in custody["entries"]] == [
            ("received", "public", sha256)]

    await page.get_by_label("It may send them to another human-rights institution", exact=False).check()
    await page.get_by_role("button", name="Withdraw").click()
    assert "3 permission(s) withdrawn" in await page.content()
    assert await page.get_by_label("It may send them to another human-rights institution",
                                   exact=False).is_disabled()
    await page.screenshot(path=str(SCREENSHOTS / "public-status.png"), full_page=True)
    await context.close()


async def test_wrong_codes_are_not_found_and_the_tenth_in_a_minute_waits_in_chromium(served, chromium):
    """Nine wrong codes each give the "not found" page (404, with the code form again); the tenth within a
    minute from the same address gives the "please wait" page, 429 with Retry-After (the service's own
    limit, ``public_code_failure_limit`` = 9/minute). The throttle lives in intake's database and is shared
    by every app on it, per address: this test's address is new each run, so no other test's wrong codes
    count here, whatever the order."""
    address = f"2001:db8:{uuid.uuid4().hex[:4]}::{uuid.uuid4().hex[:4]}"
    context = await chromium.new_context(java_script_enabled=False, extra_http_headers={"X-Forwarded-For": address})
    page = await context.new_page()
    await page.goto(f"{served.url}/public/status")
    for attempt in range(9):
        await page.get_by_label("Receipt code").fill(domain.format_code(f"{attempt:0>24}"))
        async with page.expect_response(lambda r: r.url.endswith("/public/status")) as answer:
            await page.get_by_role("button", name="See my complaint").click()
        assert (await answer.value).status == 404, attempt
        assert await page.locator("h1").inner_text() == "We found no complaint with this receipt code"
        assert "Look at your receipt and type the code again" in await page.get_by_role("alert").inner_text()
    await page.get_by_label("Receipt code").fill(domain.format_code("Z" * 24))
    async with page.expect_response(lambda r: r.url.endswith("/public/status")) as answer:
        await page.get_by_role("button", name="See my complaint").click()
    tenth = await answer.value
    assert tenth.status == 429
    retry_after = int((await tenth.all_headers())["retry-after"])
    assert 0 < retry_after <= 60
    assert await page.locator("h1").inner_text() == "Too many tries: please wait"
    unit = "second" if retry_after == 1 else "seconds"
    assert f"this page is paused for {retry_after} {unit}" in await page.get_by_role("alert").inner_text()
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
