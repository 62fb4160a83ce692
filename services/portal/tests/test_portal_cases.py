"""Cases over plain HTTP, as a new officer meets them: an empty complaint is refused in plain words (nothing
reaches intake); the case page offers only the status actions intake's lifecycle allows from the case's
status (services/intake/comitas_intake/complaints/domain.py, TRANSITIONS), and intake's refusal of another
one is told with the action's own label; the victim's consent names an institution of the directory by
name, is confirmed, and is listed by that name on the refer page, the case page and its timeline; a draft
says what it lacks for each body's form, with the rule, and the new complaint states its language."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from portal_kit import csrf_of, session_row, sign_in

pytestmark = pytest.mark.timeout(120)
COOKIE = "comitas_portal_session"
OPTION = re.compile(r'<option value="([^"]+)">([^<]*)</option>')
LACKING = re.compile(r'<ul class="items" id="lacking-(\w+)">(.*?)</ul>', re.S)
ITEM = re.compile(r"<li>(.*?)</li>", re.S)


def offered_actions(html: str) -> list[tuple[str, str]]:
    """The options of the case page's "Move the case" list: (action, label)."""
    found = re.search(r'<select id="action" name="action">(.*?)</select>', html, re.S)
    return [] if found is None else [(value, unescape(text)) for value, text in OPTION.findall(found.group(1))]


async def _new_case(http: httpx.AsyncClient, portal, token: str, summary: str) -> str:
    created = await http.post(f"{portal.url}/cases", follow_redirects=False, data={
        "csrf_token": token, "summary": summary, "respondent_states": "FR"})
    assert created.status_code == 303, created.text
    return created.headers["location"].split("?")[0]


async def test_an_empty_complaint_is_refused_and_nothing_reaches_intake(portal):
    """The summary of facts is required: the form marks it ``required`` and, posted empty (or blank), the
    page answers 422 with the message next to the field, and intake holds no new complaint."""
    officer = portal.officers[0]
    async with httpx.AsyncClient(timeout=20) as http:
        today = await sign_in(http, portal, officer)
        _, tokens = await session_row(portal, http.cookies[COOKIE])
        intake = {"Authorization": f"Bearer {tokens['access_token']}"}

        async def held() -> int:
            listed = await http.get(f"{portal.stack.intake.url}/v1/complaints", params={"limit": 100}, headers=intake)
            assert listed.status_code == 200
            return len(listed.json()["items"])

        before = await held()
        form = await http.get(f"{portal.url}/cases/new")
        assert '<textarea id="summary" name="summary" rows="6" required >' in form.text
        for summary in ("", "   \n "):
            refused = await http.post(f"{portal.url}/cases", follow_redirects=False, data={
                "csrf_token": csrf_of(today.text), "summary": summary, "respondent_states": "FR",
                "idempotency_key": "empty-case"})
            assert refused.status_code == 422
            assert ('<p class="error" id="err-summary">Write what happened: the complaint needs a summary of the '
                    'facts.</p>') in refused.text
            assert 'aria-invalid="true" aria-describedby="err-summary"' in refused.text
            assert "The complaint was not submitted. Please correct what is marked." in refused.text
            assert 'value="FR"' in refused.text  # what was typed is kept
        assert await held() == before


async def test_the_case_offers_only_the_actions_its_status_allows(portal):
    """received: start the assessment, withdraw; under assessment: activate, withdraw; active: withdraw;
    withdrawn: none. An action the status does not allow, posted anyway, is refused by intake (409) and told
    with the action's label and the status in words, not intake's own text."""
    officer = portal.officers[0]
    async with httpx.AsyncClient(timeout=20) as http:
        today = await sign_in(http, portal, officer)
        token = csrf_of(today.text)
        case = await _new_case(http, portal, token, "Detained for nine days without seeing a judge.")

        page = await http.get(f"{portal.url}{case}")
        assert offered_actions(page.text) == [("start_assessment", "Start the assessment"), ("withdraw", "Withdraw")]

        refused = await http.post(f"{portal.url}{case}/status", data={"csrf_token": token, "action": "activate"},
                                  follow_redirects=False)
        assert refused.status_code == 409
        assert ('<p role="alert" class="error">“Activate (complete)” is not possible while the case is received.</p>'
                in refused.text)
        assert "allowed from" not in refused.text

        for action, offered in (("start_assessment", [("activate", "Activate (complete)"), ("withdraw", "Withdraw")]),
                                ("activate", [("withdraw", "Withdraw")]), ("withdraw", [])):
            moved = await http.post(f"{portal.url}{case}/status", data={"csrf_token": token, "action": action},
                                    follow_redirects=False)
            assert moved.status_code == 303 and moved.headers["location"] == f"{case}?done={action}"
            page = await http.get(f"{portal.url}{case}")
            assert offered_actions(page.text) == offered, action
        assert '<p class="muted" id="no-action">No status change is possible from here.</p>' in page.text
        assert '<dd id="case-status">withdrawn' in page.text


async def test_consent_names_an_institution_of_the_directory_by_name(portal):
    """The consent form offers the directory's institutions by name (not the officer's own), kinds of
    institution in words and the mechanisms; recording one is confirmed, and the refer page, the case page
    and its timeline name the institution, never its id."""
    officer, other = portal.officers[0], portal.officers[1]
    async with httpx.AsyncClient(timeout=20) as http:
        today = await sign_in(http, portal, officer)
        token = csrf_of(today.text)
        case = await _new_case(http, portal, token, "Beaten during an identity check in Lyon.")

        refer = await http.get(f"{portal.url}{case}/refer")
        assert refer.status_code == 200
        choices = dict(OPTION.findall(re.search(r'<select id="consent_recipient"[^>]*>(.*?)</select>', refer.text,
                                                re.S).group(1)))
        assert choices[f"institution:{other.institution_id}"] == f"{other.institution} (regional human rights " \
                                                                  f"commission, FR)"
        assert f"institution:{officer.institution_id}" not in choices
        assert choices["institution_kind:nhri"] == "national human rights institution"
        assert choices["institution_kind:ombudsperson"] == "ombudsperson"
        assert not [value for value in choices if value.startswith("institution_kind:platform_service")]
        assert [value for value in choices if value.startswith("mechanism:")] != []

        recorded = await http.post(f"{portal.url}{case}/consents", follow_redirects=False, data={
            "csrf_token": token, "purposes": "investigate", "consent_recipient": f"institution:{other.institution_id}",
            "categories": "narrative", "channel": "in_person"})
        assert recorded.status_code == 303 and recorded.headers["location"] == f"{case}/refer?done=consent"
        refer = await http.get(f"{portal.url}{case}/refer?done=consent")
        assert '<p role="status" class="done" id="done">The victim\'s consent was recorded.</p>' in refer.text
        listed = re.search(r'<ul class="items" id="consents">(.*?)</ul>', refer.text, re.S).group(1)
        assert [unescape(item).strip() for item in re.findall(r"<li>(.*?)</li>", listed, re.S)] == [
            f"To {other.institution}, for investigate: narrative"]
        assert "The victim's consent was recorded." not in (await http.get(f"{portal.url}{case}/refer")).text

        page = await http.get(f"{portal.url}{case}")
        consents = re.search(r'<ul class="items" id="case-consents">(.*?)</ul>', page.text, re.S).group(1)
        assert f"given: investigate (narrative) → {other.institution} " in unescape(consents)
        timeline = unescape(re.search(r'<ol class="timeline">(.*?)</ol>', page.text, re.S).group(1))
        assert f'<span class="tag">consent</span> {other.institution} · given</li>' in timeline
        assert other.institution_id not in consents + timeline


async def test_a_draft_says_what_it_lacks_for_each_body_and_the_complaint_states_its_languages(portal):
    """The new-complaint form asks the complaint's language (default: the officer's, here en) and the
    languages the victim speaks, which reach intake as ``languages.submission`` and ``languages.spoken``
    (ISO 639 codes; one intake does not know is refused next to the field). The case page of a draft says
    what a draft is and, for each body's form (intake's forms: the ECHR's Rule 47, the IACHR's Rules
    Art 28, the UN treaty bodies' and the special procedures'), lists exactly what intake's completeness
    says is missing, each with its rule, "if possible" where the rule says so, and a link to the new
    complaint form's field where the form has one (the victim's name, here)."""
    officer = portal.officers[0]
    async with httpx.AsyncClient(timeout=20) as http:
        today = await sign_in(http, portal, officer)
        token = csrf_of(today.text)
        form = await http.get(f"{portal.url}/cases/new")
        assert '<input id="language" name="language" value="en" maxlength="3" >' in form.text
        assert '<label for="spoken_languages">Languages the victim speaks (codes, separated by commas)</label>' \
               in form.text

        data = {"csrf_token": token, "summary": "Held in Lille for four days without a lawyer.",
                "respondent_states": "FR", "language": "xx", "spoken_languages": "fr"}
        refused = await http.post(f"{portal.url}/cases", follow_redirects=False, data=data)
        assert refused.status_code == 422
        assert '<p class="error" id="err-languages">&#39;xx&#39; is not an ISO 639 language code</p>' in refused.text
        assert '<input id="language" name="language" value="xx" maxlength="3" aria-invalid="true" ' \
               'aria-describedby="err-languages">' in refused.text

        created = await http.post(f"{portal.url}/cases", follow_redirects=False,
                                  data={**data, "language": "FR", "spoken_languages": "fr; ar"})
        assert created.status_code == 303, created.text
        case = created.headers["location"].split("?")[0]
        complaint_id = case.rsplit("/", 1)[1]
        _, tokens = await session_row(portal, http.cookies[COOKIE])
        intake = {"Authorization": f"Bearer {tokens['access_token']}"}
        stored = (await http.get(f"{portal.stack.intake.url}/v1/complaints/{complaint_id}", headers=intake)).json()
        assert stored["languages"] == {"spoken": ["fr", "ar"], "preferred": None, "interpreter_needed": None,
                                       "submission": "fr"}
        assert stored["draft"] is True

        page = await http.get(f"{portal.url}{case}")
        assert '<dd id="case-status">received <span class="tag">draft</span></dd>' in page.text
        assert ("<p id=\"draft-explained\">Draft: the complaint is not yet complete for any body's form.</p>"
                in page.text)
        shown = {forum: [" ".join(unescape(re.sub(r"<[^>]+>", "", item)).split()) for item in ITEM.findall(body)]
                 for forum, body in LACKING.findall(page.text)}
        assert sorted(shown) == ["echr", "iachr", "special_procedures", "un_treaty_body"]
        for forum, rows in shown.items():
            said = (await http.get(f"{portal.stack.intake.url}/v1/complaints/{complaint_id}/completeness",
                                   params={"forum": forum}, headers=intake)).json()
            assert said["complete"] is False
            assert rows == [f"{m['requirement']}{' if possible' if m['level'] == 'if_possible' else ''} "
                            f"({m['rule']['provision']})" for m in said["missing"]], forum
        # The European Court's Rule 47 §1, as intake's form file gives it (data/forms/echr.toml).
        assert shown["echr"] == [
            "at least one applicant (Rules of Court, Rule 47 §1(a); ECHR Art 34 (victim status))",
            "the alleged violations of the Convention (or its Protocols) and the relevant arguments (Rules of "
            "Court, Rule 47 §1(f))",
            "compliance with Art 35 §1: the domestic remedies exhausted (or why none had to be) (Rules of Court, "
            "Rule 47 §1(g); ECHR Art 35 §1)",
            "compliance with Art 35 §1: the date of the final domestic decision (the four-month limit runs from "
            "it) (Rules of Court, Rule 47 §1(g); ECHR Art 35 §1 as amended by Protocol 15)",
            "whether the matter was submitted to another procedure of international investigation or settlement "
            "(ECHR Art 35 §2(b); application form, section on other international proceedings)"]
        assert ('<li>if possible, the name of the victim <span class="tag">if possible</span> <span class="muted">'
                '(IACHR Rules of Procedure, Art 28(5))</span></li>') in page.text
        # No link to the New complaint form: it makes another complaint (there is no form to edit one yet).
        assert "/cases/new#" not in page.text
