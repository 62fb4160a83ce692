"""English, French and Spanish: every message of the templates and the code is in each catalogue, translated
(not fuzzy, not left in English, same placeholders), and the pages an officer sees in French or Spanish show
no English message."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from portal_kit import csrf_of, sign_in

PACKAGE = Path(__file__).resolve().parents[1] / "comitas_portal"
LANGUAGES = ("fr", "es")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# The same word in both languages, on purpose.
SAME = {"fr": {"Comitas", "Actions", "Messages", "coordination", "active"}, "es": {"Comitas", "Error"}}
METHOD_MAP = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extracted() -> set[str]:
    found = set()
    for _, _, message, *_ in extract_from_dir(str(PACKAGE), METHOD_MAP, OPTIONS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue(language: str):
    with open(PACKAGE / "locales" / language / "LC_MESSAGES" / "portal.po", "rb") as source:
        return read_po(source, locale=language)


def test_the_templates_have_messages_to_compare():
    messages = extracted()
    assert len(messages) > 200 and "Referrals waiting for your answer" in messages and "under assessment" in messages


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    found = catalogue(language)
    problems = []
    for message in sorted(extracted()):
        entry = found.get(message)
        if entry is None or not entry.string:
            problems.append(f"missing: {message!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message!r}")
        elif entry.string == message and message not in SAME[language]:
            problems.append(f"left in English: {message!r}")
        elif set(PLACEHOLDER.findall(entry.string)) != set(PLACEHOLDER.findall(message)):
            problems.append(f"placeholders differ: {message!r}")
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_in_the_catalogue_is_stale(language):
    stale = {m.id for m in catalogue(language) if m.id} - extracted()
    assert stale == set(), "messages no template or code uses any more: run pybabel update (see babel.cfg)"


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", "\n", html))


async def test_pages_in_french_and_spanish_show_no_english_message(portal):
    english = {m for m in extracted() if len(m) > 3 and not PLACEHOLDER.search(m)}
    officer = portal.officers[0]
    async with httpx.AsyncClient(timeout=20) as http:
        today = await sign_in(http, portal, officer)
        created = await http.post(f"{portal.url}/cases", data={
            "csrf_token": csrf_of(today.text), "summary": "Disappeared after arrest.", "respondent_states": "FR",
            "idempotency_key": "i18n-1"}, follow_redirects=False)
        case = created.headers["location"].split("?")[0]
        for language in LANGUAGES:
            same = SAME[language]
            changed = await http.post(f"{portal.url}/settings/language", follow_redirects=False,
                                      data={"csrf_token": csrf_of(today.text), "language": language, "back": "/"})
            assert changed.status_code == 303
            for path in ("/", "/cases", "/cases/new", case, f"{case}/refer", "/mla", "/settings"):
                page = await http.get(f"{portal.url}{path}")
                assert page.status_code == 200, (language, path, page.status_code)
                assert f'<html lang="{language}">' in page.text
                lines = {line.strip() for line in _visible_text(page.text).splitlines() if line.strip()}
                left = sorted(lines & (english - same))
                assert left == [], (language, path, left)
        await http.post(f"{portal.url}/settings/language", data={"csrf_token": csrf_of(today.text),
                                                                  "language": "en", "back": "/"})
