"""Drafting requests through the API: the directory decides who is a central authority of which state,
completeness says what the basis requires and the draft lacks, an incomplete request cannot be issued,
and the PDF carries every required item."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from mla_testkit import EIO_REQUEST, UNTOC_REQUEST, act, body, create
from pypdf import PdfReader


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


async def test_a_draft_lacking_facts_or_purpose_is_incomplete_and_cannot_be_issued(stack, authorities) -> None:
    fr, br = await authorities.new("FR"), await authorities.new("BR")
    draft = await create(fr.api, body(UNTOC_REQUEST, br, summary_of_facts=None, purpose=None))
    assert draft["state"] == "draft" and draft["role"] == "requesting"
    assert (draft["requesting_state"], draft["requested_state"]) == ("FR", "BR")
    assert draft["reference"].startswith("MLA-")

    report = (await fr.api.get(f"/v1/requests/{draft['id']}/completeness")).json()
    assert report["complete"] is False
    assert {(m["item"], m["provision"]) for m in report["missing"]} == {
        ("summary_of_facts", "UNTOC Art 18(15)(c)"), ("purpose", "UNTOC Art 18(15)(f)")}
    refused = await fr.api.post(f"/v1/requests/{draft['id']}/issue")
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/request-incomplete")
    assert {m["provision"] for m in problem["missing"]} == {"UNTOC Art 18(15)(c)", "UNTOC Art 18(15)(f)"}

    # The requested authority sees nothing of a draft... until it is issued it is still one of the two parties.
    completed = await fr.api.patch(f"/v1/requests/{draft['id']}", json={
        "summary_of_facts": UNTOC_REQUEST["summary_of_facts"], "purpose": UNTOC_REQUEST["purpose"]})
    assert completed.status_code == 200, completed.text
    assert (await fr.api.get(f"/v1/requests/{draft['id']}/completeness")).json()["complete"] is True
    issued = await act(fr.api, draft["id"], "issue")
    assert issued["state"] == "issued" and issued["issued_at"]
    assert [d["limit_id"] for d in issued["deadlines"]] == ["execution"]
    assert issued["deadlines"][0]["kind"] == "follow_up" and issued["deadlines"][0]["time_zone"] == "America/Sao_Paulo"
    # Issued, the draft is closed to changes.
    assert (await fr.api.patch(f"/v1/requests/{draft['id']}", json={"purpose": "x"})).status_code == 409
    assert (await fr.api.post(f"/v1/requests/{draft['id']}/issue")).status_code == 409


async def test_the_letter_of_request_pdf_carries_every_required_item(stack, authorities) -> None:
    fr, br = await authorities.new("FR", name="Ministère de la Justice, BEPI"), await authorities.new("BR")
    draft = await create(fr.api, body(UNTOC_REQUEST, br))
    await act(fr.api, draft["id"], "issue")
    report = (await fr.api.get(f"/v1/requests/{draft['id']}/completeness")).json()
    assert report["complete"]
    response = await fr.api.get(f"/v1/requests/{draft['id']}/document")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "REQUEST FOR MUTUAL LEGAL ASSISTANCE" in text and draft["reference"] in text
    assert "United Nations Convention against Transnational Organized Crime" in text
    required = [UNTOC_REQUEST["summary_of_facts"], UNTOC_REQUEST["purpose"],
                UNTOC_REQUEST["conducting_authority"]["name"], UNTOC_REQUEST["conducting_authority"]["functions"],
                UNTOC_REQUEST["proceedings"]["subject"], UNTOC_REQUEST["assistance"][0]["description"],
                UNTOC_REQUEST["offences"][0]["name"], UNTOC_REQUEST["offences"][0]["provisions"][0],
                UNTOC_REQUEST["persons"][0]["name"], UNTOC_REQUEST["procedures"], "Ministère de la Justice, BEPI"]
    for value in required:
        assert squash(value) in text, value
    for item in report["items"]:
        if item["applies"]:
            assert f"[{item['provision']}]" in text, item["provision"]


async def test_an_eio_document_follows_annex_a(stack, authorities) -> None:
    fr, de = await authorities.new("FR"), await authorities.new("DE")
    draft = await create(fr.api, body(EIO_REQUEST, de, language="fr"))
    report = (await fr.api.get(f"/v1/requests/{draft['id']}/completeness")).json()
    # Written in French for Germany: a translation into German is needed (Art 5(2)-(3)).
    assert [m["item"] for m in report["missing"]] == ["translation"]
    assert draft["languages"]["accepted"] == ["de"] and draft["languages"]["translation_needed"] is True
    pending = await fr.api.post(f"/v1/requests/{draft['id']}/translations", json={"language": "de", "status": "pending"})
    assert pending.json()["languages"]["translation_needed"] is True
    attached = await fr.api.post(f"/v1/requests/{draft['id']}/translations",
                                 json={"language": "de", "status": "attached", "note": "sworn translator"})
    assert attached.json()["languages"]["translation_needed"] is False
    assert attached.json()["languages"]["translations"][0]["status"] == "attached"
    await act(fr.api, draft["id"], "issue")
    text = pdf_text((await fr.api.get(f"/v1/requests/{draft['id']}/document")).content)
    assert "ANNEX A" in text and "EUROPEAN INVESTIGATION ORDER" in text
    for section in ("SECTION A", "SECTION C", "SECTION G", "SECTION K"):
        assert section in text
    for value in (EIO_REQUEST["summary_of_facts"], EIO_REQUEST["purpose"], "Jürgen Weiß",
                  EIO_REQUEST["issuing_contact"]["email"], "Translation into de: attached."):
        assert squash(value) in text, value


async def test_only_central_authorities_of_two_states_on_a_basis_that_binds_them(stack, authorities) -> None:
    fr, br, de = await authorities.new("FR"), await authorities.new("BR"), await authorities.new("DE")
    fr2 = await authorities.new("FR")
    ngo = await authorities.new("BR", kind="ngo")
    cases = [
        (fr.api, body(UNTOC_REQUEST, ngo), "requested-not-a-central-authority"),
        (fr.api, body(UNTOC_REQUEST, fr2), "same-state"),
        (fr.api, body(UNTOC_REQUEST, br, basis="coe_1959"), "basis-not-available"),
        (fr.api, body(UNTOC_REQUEST, br, basis="no_such_basis"), "basis-not-available"),
        (ngo.api, body(UNTOC_REQUEST, de), "not-a-central-authority"),
    ]
    for api, payload, slug in cases:
        refused = await api.post("/v1/requests", json=payload)
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith(slug)
    unknown = await fr.api.post("/v1/requests", json=body(UNTOC_REQUEST, br) | {"requested_institution_id": "inst_nope"})
    assert unknown.status_code == 422 and unknown.json()["type"].endswith("requested-not-a-central-authority")
    # A basis that binds both but does not cover what is asked: drafted, and reported incomplete.
    draft = await create(fr.api, body(EIO_REQUEST, de, assistance=[
        {"type": "service_of_documents", "description": "Serve the summons on Mr Weiß."}]))
    report = (await fr.api.get(f"/v1/requests/{draft['id']}/completeness")).json()
    assert report["complete"] is False and any("does not cover service of documents" in p
                                               for p in report["basis_problems"])


async def test_without_directory_read_the_draft_is_refused_with_the_reason(stack, authorities) -> None:
    fr, br = await authorities.new("FR", scope="mla:write mla:read"), await authorities.new("BR")
    refused = await fr.api.post("/v1/requests", json=body(UNTOC_REQUEST, br))
    assert refused.status_code == 403 and refused.json()["type"].endswith("/directory-unreadable")


async def test_idempotency_key_replays_the_draft_and_refuses_another_body(stack, authorities) -> None:
    fr, br = await authorities.new("FR"), await authorities.new("BR")
    key = str(uuid.uuid4())
    first = await fr.api.post("/v1/requests", json=body(UNTOC_REQUEST, br), headers={"Idempotency-Key": key})
    again = await fr.api.post("/v1/requests", json=body(UNTOC_REQUEST, br), headers={"Idempotency-Key": key})
    other = await fr.api.post("/v1/requests", json=body(UNTOC_REQUEST, br, purpose="Another purpose"),
                              headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    listed = (await fr.api.get("/v1/requests", params={"role": "requesting"})).json()["items"]
    assert [r["id"] for r in listed] == [first.json()["id"]]


@pytest.mark.parametrize(("payload", "pointer"), [
    ({"unknown_field": 1}, "/unknown_field"),
    ({"assistance": [{"type": "astral_projection", "description": "x"}]}, "/assistance/0/type"),
    ({"persons": [{"role": "suspect", "name": "X", "nationality": "France"}]}, "/persons/0/nationality"),
    ({"language": "french"}, "/language"),
])
async def test_bad_input_is_problem_json_with_a_pointer(stack, authorities, payload, pointer) -> None:
    fr, br = await authorities.new("FR"), await authorities.new("BR")
    response = await fr.api.post("/v1/requests", json=body(UNTOC_REQUEST, br) | payload)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]


async def test_scopes_are_checked(stack, authorities) -> None:
    fr, br = await authorities.new("FR", scope="mla:read directory:read"), await authorities.new("BR")
    response = await fr.api.post("/v1/requests", json=body(UNTOC_REQUEST, br))
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
