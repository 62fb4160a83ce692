"""Mutual legal assistance in the web client: France's central authority drafts a request to Brazil's with
the form (mla's refusal of a bad draft shown next to the fields), sees it checked against its legal basis,
issues it; Brazil's officer finds it on Today and acknowledges it."""

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

        refused = await fr.post(f"{portal.url}/mla", data={**DRAFT, "csrf_token": token, "basis": "no_such_basis",
                                                           "requested": brazil.institution_id})
        assert refused.status_code in (404, 409, 422), refused.status_code
        assert "The request was not drafted." in refused.text and 'role="alert"' in refused.text

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
        acknowledged = await br.post(f"{portal.url}{request_url}/actions/acknowledge",
                                     data={"csrf_token": csrf_of(today.text)}, follow_redirects=False)
        assert acknowledged.status_code == 303
        shown = (await fr.get(f"{portal.url}{request_url}")).text
        assert re.search(r'id="mla-state">acknowledged<', shown)
        reference = re.search(r"MLA-[0-9A-Z-]+", shown).group(0)
        assert reference in (await fr.get(f"{portal.url}{case_url}")).text  # in the case's timeline
