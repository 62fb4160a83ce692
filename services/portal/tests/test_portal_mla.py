"""Mutual legal assistance in the web client: France's central authority drafts a request to Brazil's with
the form, sees it checked against its legal basis, issues it; Brazil's officer finds it on Today and
acknowledges it. mla's refusals (its problem+json) come back in plain words next to the field each concerns,
in the officer's language, with what was typed kept in the form."""

from __future__ import annotations

import re

import httpx
import pytest
from portal_kit import csrf_of, sign_in

pytestmark = pytest.mark.timeout(180)
DRAFT = {
    "basis": "untoc_art18", "language": "pt", "conducting_authority": "Parquet national financier, Paris",
    "conducting_functions": "public prosecutor",
    "proceedings_nature": "investigation",
    "proceedings_subject": "Laundering of the proceeds of an organised trafficking network",
    "offence": "Money laundering",
    "summary_of_facts": "Between 2023 and 2025 a criminal group moved funds through accounts opened in São Paulo.",
    "purpose": "To trace the funds and establish who controls the accounts, as evidence for the prosecution.",
    "assistance_type": "bank_records",
    "assistance_description": "Statements of account 0001-2345 at Banco Exemplo, January 2023 to March 2025.",
}


async def test_draft_issue_and_acknowledge_a_request(portal):
    france, brazil = portal.officers[2], portal.officers[3]
    async with httpx.AsyncClient(timeout=30) as fr, httpx.AsyncClient(timeout=30) as br:
        first = await sign_in(fr, portal, france)
        case = await fr.post(f"{portal.url}/cases", data={
            "csrf_token": csrf_of(first.text), "summary": "Proceeds of trafficking laundered abroad.",
            "respondent_states": "FR", "idempotency_key": "mla-case-1"}, follow_redirects=False)
        case_url = case.headers["location"].split("?")[0]
        complaint_id = case_url.rsplit("/", 1)[1]
        page = await fr.get(f"{portal.url}/mla", params={"complaint_id": complaint_id})
        assert f'name="complaint_id" value="{complaint_id}"' in page.text
        assert page.status_code == 200 and brazil.institution_id in page.text
        token = csrf_of(page.text)

        # A basis mla does not know (its 422 basis-not-available): said at the basis.
        refused = await fr.post(f"{portal.url}/mla", data={**DRAFT, "csrf_token": token, "basis": "no_such_basis",
                                                           "requested": brazil.institution_id})
        assert refused.status_code == 422, refused.status_code
        assert ('<div role="alert" class="problems"><p>The request was not drafted.</p>'
                '<p>Please correct what is marked.</p></div>') in refused.text
        assert ('<select id="basis" name="basis" aria-invalid="true" aria-describedby="err-basis">'
                in refused.text)
        assert ('<p class="error" id="err-basis">This legal basis cannot be used between the two states: choose '
                'another one from the list.</p>') in refused.text
        assert "no legal basis" not in refused.text

        # pydantic's refusals (mla's 422 validation-error): the language's pattern, the offence's length.
        long_offence = "Money laundering " * 30  # 510 characters; mla takes 500
        refused = await fr.post(f"{portal.url}/mla", data={
            **DRAFT, "csrf_token": token, "complaint_id": complaint_id, "requested": brazil.institution_id,
            "language": "p1", "offence": long_offence})
        assert refused.status_code == 422, refused.status_code
        assert ('<input id="request_language" name="language" maxlength="3" value="p1" aria-invalid="true" '
                'aria-describedby="err-language">') in refused.text
        assert '<p class="error" id="err-language">Use a two-letter language code, such as fr.</p>' in refused.text
        assert (f'<input id="offence" name="offence" value="{long_offence}" aria-invalid="true" '
                'aria-describedby="err-offence">') in refused.text
        assert '<p class="error" id="err-offence">Write at most 500 characters.</p>' in refused.text
        # What was typed is kept, the fields without a fault are not marked.
        assert f'>{DRAFT["summary_of_facts"]}</textarea>' in refused.text
        assert f'<option value="{brazil.institution_id}" selected>' in refused.text
        assert '<option value="untoc_art18" selected>untoc_art18</option>' in refused.text
        assert f'name="complaint_id" value="{complaint_id}"' in refused.text
        assert refused.text.count('aria-invalid="true"') == 2
        for raw in ("the request does not match the schema", "String should", "pattern"):
            assert raw not in refused.text, raw

        drafted = await fr.post(f"{portal.url}/mla", data={**DRAFT, "csrf_token": token, "complaint_id": complaint_id,
                                                           "requested": brazil.institution_id},
                                follow_redirects=False)
        assert drafted.status_code == 303, drafted.text
        request_url = drafted.headers["location"].split("?")[0]
        shown = await fr.get(f"{portal.url}{request_url}")
        assert 'id="mla-complete"' in shown.text
        issued = await fr.post(f"{portal.url}{request_url}/actions/issue", data={"csrf_token": token},
                               follow_redirects=False)
        assert issued.status_code == 303, issued.text[issued.text.find('role="alert"'):][:2000]
        assert re.search(r'id="mla-state">issued<', (await fr.get(f"{portal.url}{request_url}")).text)

        today = await sign_in(br, portal, brazil)
        assert request_url in today.text  # waiting on Brazil's Today
        br_token = csrf_of(today.text)

        # A refusal on a ground UNTOC art. 18(21) does not list: said at the ground, with the ones it lists.
        grounds = "not_in_conformity, essential_interests, domestic_law_bars, contrary_to_legal_system"
        refusal = {"csrf_token": br_token, "ground": "no_such_ground", "reasons": "Not a ground of the convention."}
        refused = await br.post(f"{portal.url}{request_url}/actions/refuse", data=refusal)
        assert refused.status_code == 422
        assert ('<div role="alert" class="problems"><p>The action was not taken.</p>'
                '<p>Please correct what is marked.</p></div>') in refused.text
        assert ('<input id="ground" name="ground" required value="no_such_ground" aria-invalid="true" '
                'aria-describedby="err-ground">') in refused.text
        assert ('<p class="error" id="err-ground">This is not a ground for refusal under the request&#39;s legal '
                f'basis. Its grounds are: {grounds}.</p>') in refused.text
        assert ('<textarea id="reasons" name="reasons" rows="2" required>Not a ground of the convention.</textarea>'
                in refused.text)
        assert re.search(r'id="mla-state">issued<', refused.text)
        # The same in the officer's language.
        assert (await br.post(f"{portal.url}/settings/language", follow_redirects=False, data={
            "csrf_token": br_token, "language": "fr", "back": "/"})).status_code == 303
        refused = await br.post(f"{portal.url}{request_url}/actions/refuse", data=refusal)
        assert ('<p class="error" id="err-ground">Ce n&#39;est pas un motif de refus prévu par la base juridique de '
                f'la demande. Ses motifs sont : {grounds}.</p>') in refused.text
        assert "<p>L'action n'a pas été effectuée.</p>" in refused.text
        await br.post(f"{portal.url}/settings/language", data={"csrf_token": br_token, "language": "en", "back": "/"})
        # Reasons left blank (pydantic's string_too_short at /grounds/0/text): said at the reasons.
        refused = await br.post(f"{portal.url}{request_url}/actions/refuse", data={
            "csrf_token": br_token, "ground": "essential_interests", "reasons": "  "})
        assert refused.status_code == 422
        assert '<p class="error" id="err-reasons">Give the reasons for the refusal.</p>' in refused.text
        assert ('<textarea id="reasons" name="reasons" rows="2" required aria-invalid="true" '
                'aria-describedby="err-reasons">') in refused.text
        assert '<input id="ground" name="ground" required value="essential_interests">' in refused.text

        acknowledged = await br.post(f"{portal.url}{request_url}/actions/acknowledge",
                                     data={"csrf_token": br_token}, follow_redirects=False)
        assert acknowledged.status_code == 303
        # Acknowledged twice (a second tab, say): mla's 409 invalid-transition, in words, above the forms.
        again = await br.post(f"{portal.url}{request_url}/actions/acknowledge", data={"csrf_token": br_token})
        assert again.status_code == 409
        assert ('<div role="alert" class="problems"><p>The action was not taken.</p>'
                '<p>This action is not possible while the request is acknowledged.</p></div>') in again.text
        shown = (await fr.get(f"{portal.url}{request_url}")).text
        assert re.search(r'id="mla-state">acknowledged<', shown)
        reference = re.search(r"MLA-[0-9A-Z-]+", shown).group(0)
        assert reference in (await fr.get(f"{portal.url}{case_url}")).text  # in the case's timeline
