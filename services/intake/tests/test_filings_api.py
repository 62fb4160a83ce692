"""Filings through the running stack (issue 15, acceptance 1 and 2): the ECtHR preparation document and
the IACHR petition carry every item the complaint has, in the form's order, list what is missing,
carry the confidentiality request and nothing consent excludes (read back from the PDF's text); a CEDAW
filing without consent to disclose the identity to the state is blocked with the reason; an urgent
complaint of a detained defender proposes the WGAD and the Special Rapporteur on defenders, one
submission goes to both, and filing it asks notifications for the publication check."""

from __future__ import annotations

import io

from outbox_kit import outbox
from pypdf import PdfReader

NAME = "Aysel Kaya"
ADDRESS = "12 Rue Secrete, Lyon"
FACTS = "Arrested at her home by plain-clothes police and held without charge."

COMPLAINT = {
    "summary": FACTS,
    "respondent_states": ["FR"],
    "victims": [{"name": NAME, "birth_date": "1985-03-02", "nationalities": ["TR"],
                 "addresses": [{"text": ADDRESS, "country": "FR"}],
                 "contacts": [{"kind": "email", "value": "aysel@example.org"}]}],
    "incidents": [{"start": "2026-09-01", "country": "FR", "place": "Lyon", "act_types": ["030102"],
                   "narrative": "Held for six weeks."}],
    "rights": [{"instrument": "ECHR", "article": "5"}],
    "domestic_remedies": [{"description": "appeal to the Court of Cassation", "exhausted": True,
                           "final_decision_date": "2026-10-20", "notification_date": "2026-10-22"}],
    "no_other_procedures": True,
    "disclosure": {"receiving_body": "allowed", "respondent_state": "withheld", "public": "withheld",
                   "reasons": "fear of reprisals"},
    "urgency": {"level": "urgent", "detention": True},
    "languages": {"submission": "fr"},
}


def consent_for(mechanism: str, categories: list[str], purpose: str = "file_with_mechanism") -> dict:
    return {"status": "given", "purposes": [purpose], "recipient": {"type": "mechanism", "value": mechanism},
            "categories": categories, "channel": "written"}


def pdf_text(content: bytes) -> str:
    # Words as the reader sees them: line breaks and the PDF's spacing are not the test's business.
    return " ".join(" ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages).split())


async def new_complaint(api, **changes) -> str:
    response = await api.post("/v1/complaints", json=COMPLAINT | changes)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_ecthr_and_iachr_documents_follow_the_form_withhold_what_consent_excludes(stack):
    owner = await stack.new_institution(kind="ngo")
    async with await stack.client_for("intake", owner) as api:
        complaint_id = await new_complaint(api)
        # Partial consent: identity, narrative and evidence may go to each body, contact data may not.
        for mechanism in ("echr", "iachr"):
            given = await api.post(f"/v1/complaints/{complaint_id}/consents",
                                   json=consent_for(mechanism, ["identity", "narrative", "evidence"]))
            assert given.status_code == 201, given.text

        created = await api.post("/v1/filings", json={
            "complaint_id": complaint_id, "body": "echr", "language": "fr",
            "annexes": [{"title": "Judgment of the Court of Cassation", "date": "2026-10-20", "pages": 4}]})
        assert created.status_code == 201, created.text
        filing = created.json()
        assert filing["status"] == "preparing" and filing["translation"] == "not_needed"
        assert filing["confidentiality_requested"] is True and not filing["complete"]
        missing = {m["item_id"]: m for m in filing["missing"]}
        assert missing["a.address"]["state"] == "withheld"  # the complaint has it; consent keeps it back
        assert not filing["blocks"]

        document = await api.get(f"/v1/filings/{filing['id']}/document")
        assert document.status_code == 200, document.text
        assert document.headers["content-type"] == "application/pdf"
        text = pdf_text(document.content)
        assert "Court accepts only its own official application form" in text
        assert NAME in text and "1985-03-02" in text and "Held for six weeks" in text and "ECHR Art 5" in text
        assert ADDRESS not in text and "aysel@example.org" not in text
        assert "Rule 47 §4" in text and "WITHHELD" in text and "Still missing" in text
        assert "Judgment of the Court of Cassation" in text
        # The form's order: (a) before (d) before (e) before (f) before (g).
        positions = [text.index(s) for s in ("A. The applicant", "D. State(s)", "E. Statement of the facts",
                                             "F. Alleged violations", "G. Compliance with the admissibility")]
        assert positions == sorted(positions)

        # A required item is not covered by consent: the filing cannot be marked ready.
        refused = await api.post(f"/v1/filings/{filing['id']}/status", json={"action": "mark_ready"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["slug" if "slug" in refused.json() else "type"].endswith("filing-incomplete")
        assert "a.address" in refused.json()["missing"]

        petition = await api.post("/v1/filings", json={"complaint_id": complaint_id, "body": "iachr_petition",
                                                       "language": "fr"})
        assert petition.status_code == 201, petition.text
        assert petition.json()["translation"] == "not_needed"
        prepared = await api.get(f"/v1/filings/{petition.json()['id']}/preparation")
        assert prepared.status_code == 200, prepared.text
        body = prepared.json()
        assert "Art 28(2)" in body["confidentiality_request"]
        assert [s["id"] for s in body["sections"]] == ["1", "2", "3", "4", "5", "6", "7", "9"]
        text = pdf_text((await api.get(f"/v1/filings/{petition.json()['id']}/document")).content)
        assert "Art 28(2)" in text and "Held for six weeks" in text and ADDRESS not in text


async def test_a_cedaw_filing_without_consent_to_disclose_identity_to_the_state_is_blocked(stack):
    owner = await stack.new_institution(kind="ngo")
    async with await stack.client_for("intake", owner) as api:
        complaint_id = await new_complaint(api, rights=[{"instrument": "CEDAW", "article": "2"}])
        await api.post(f"/v1/complaints/{complaint_id}/consents",
                       json=consent_for("cedaw", ["identity", "contact", "narrative"]))
        created = await api.post("/v1/filings", json={"complaint_id": complaint_id, "body": "cedaw", "language": "en"})
        assert created.status_code == 201, created.text
        filing = created.json()
        assert filing["blocks"] == ["identity_to_state_without_consent"]
        prepared = (await api.get(f"/v1/filings/{filing['id']}/preparation")).json()
        assert "OP-CEDAW Art 6(1)" in prepared["blocks"][0]["reason"]
        refused = await api.post(f"/v1/filings/{filing['id']}/status", json={"action": "mark_ready"})
        assert refused.status_code == 409 and "OP-CEDAW Art 6(1)" in refused.json()["detail"], refused.text
        assert "BLOCKED" in pdf_text((await api.get(f"/v1/filings/{filing['id']}/document")).content)


async def test_a_detained_defender_s_submission_goes_to_both_mandates_and_a_publication_check_is_requested(stack):
    owner = await stack.new_institution(kind="ngo")
    async with await stack.client_for("intake", owner) as api:
        complaint_id = await new_complaint(api, disclosure={"receiving_body": "allowed", "respondent_state": "allowed",
                                                            "public": "allowed"}, languages={"submission": "en"},
                                         actors=[{"role": "alleged_perpetrator", "kind": "state_agent", "state": "FR",
                                                  "description": "the police's anti-terrorism unit"}])
        proposed = await api.get(f"/v1/complaints/{complaint_id}/mandate-proposals",
                                 params={"profile": "human_rights_defender"})
        assert proposed.status_code == 200, proposed.text
        codes = {p["mandate"]["code"]: p for p in proposed.json()["proposals"]}
        assert {"wgad", "sr_defenders"} <= codes.keys()
        assert all(p["mandate"]["rule"]["source"] for p in codes.values())

        await api.post(f"/v1/complaints/{complaint_id}/consents",
                       json=consent_for("sp", ["identity", "contact", "narrative"]))
        created = await api.post("/v1/filings", json={"complaint_id": complaint_id, "body": "sp", "language": "en",
                                                      "mandates": ["wgad", "sr_defenders"]})
        assert created.status_code == 201, created.text
        filing = created.json()
        assert filing["mandates"] == ["wgad", "sr_defenders"] and filing["complete"], filing["missing"]
        text_ = pdf_text((await api.get(f"/v1/filings/{filing['id']}/document")).content)
        assert "Working Group on Arbitrary Detention" in text_ and "human rights defenders" in text_

        ready = await api.post(f"/v1/filings/{filing['id']}/status", json={"action": "mark_ready"})
        assert ready.status_code == 200, ready.text
        wrong = await api.post(f"/v1/filings/{filing['id']}/status",
                               json={"action": "file", "on": "2026-11-02", "channel": "fax"})
        assert wrong.status_code == 422, wrong.text
        filed = await api.post(f"/v1/filings/{filing['id']}/status",
                               json={"action": "file", "on": "2026-11-02", "channel": "email"})
        assert filed.status_code == 200, filed.text
        assert filed.json()["filed_on"] == "2026-11-02" and filed.json()["channel"] == "email"
        # The officer looked at the communications reports: the reminder is met.
        checked = await api.post(f"/v1/filings/{filing['id']}/proceedings/steps",
                                 json={"kind": "publication_checked", "on": "2026-11-30"})
        assert checked.status_code == 201, checked.text
        assert {x["deadline"]: x["status"] for x in checked.json()["limits"]} == {"publication_check": "met"}
        # The limit met is the one the filing asked for: 60 days from the submission, not the day filed.
        assert [x["last_day"] for x in checked.json()["limits"]] == ["2027-01-01"]

    envelopes = await outbox(stack, "comitas.deadline.requested")
    check = [e["data"] for e in envelopes if e["data"]["case_ref"] == complaint_id
             and e["data"]["kind"] == "publication_check"]
    assert len(check) == 1, envelopes
    assert check[0]["last_day"] == "2027-01-01" and check[0]["hard"] is False
    assert check[0]["rule"]["status"] == "unconfirmed" and check[0]["deadline_key"].endswith(filing["id"]
                                                                                         + ":publication_check")
    met = [e["data"] for e in await outbox(stack, "comitas.deadline.withdrawn")
           if e["data"]["deadline_key"] == check[0]["deadline_key"]]
    assert [m["reason"] for m in met] == ["met"]
