"""Filings through the running stack (issue 15, acceptance 1 and 2): the ECtHR preparation document and
the IACHR petition carry every item the complaint has, in the form's order, list what is missing,
carry the confidentiality request and nothing consent excludes (read back from the PDF's text); a CEDAW
filing without consent to disclose the identity to the state is blocked with the reason; an urgent
complaint of a detained defender proposes the WGAD and the Special Rapporteur on defenders, one
submission goes to both, and filing it asks notifications for the publication check."""

from __future__ import annotations

import io
import re

import httpx
from outbox_kit import outbox
from pypdf import PdfReader

from comitas_intake.filings.rules import shipped_rules

NAME = "Aysel Kaya"
ADDRESS = "12 Rue Secrete, Lyon"
EMAIL = "aysel@example.org"
FACTS = "Arrested at her home by plain-clothes police and held without charge."

COMPLAINT = {
    "summary": FACTS,
    "respondent_states": ["FR"],
    "victims": [{"name": NAME, "birth_date": "1985-03-02", "nationalities": ["TR"],
                 "addresses": [{"text": ADDRESS, "country": "FR"}],
                 "contacts": [{"kind": "email", "value": EMAIL}]}],
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


def pdf_metadata(content: bytes) -> str:
    return " ".join(str(value) for value in (PdfReader(io.BytesIO(content)).metadata or {}).values())


# The contact data of the complaint: the partial consent of the first test does not cover it, so neither
# document may carry any of it (nor a piece of it, in case a line is cut).
EXCLUDED = (ADDRESS, "Rue Secrete", EMAIL, "aysel@", "example.org", "Address:", "Email:")

# What the complaint gives each item of the IACHR petition (IACHR Rules of Procedure, Art 28, as the rule
# data ``filings/data/forms/iachr_petition.toml`` has it), in the form's order: the lines the petition
# writes, "withheld" (the complaint has it, consent keeps it back), "missing" (the complaint does not have
# it), or None (not applicable: the petitioner is the victim herself, not an NGO).
IACHR_CONTENT: dict[str, list[str] | str | None] = {
    "1.name": [NAME],
    "1.ngo": None,
    "2.withheld": ["Identity disclosed to the State: withheld"],
    "3.contact": "withheld",
    "4.facts": [FACTS, "Incident 1 (2026-09-01, Lyon, FR): Held for six weeks."],
    "5.victims": [f"Victim 1: {NAME}"],
    "5.authorities": ["Domestic remedy: appeal to the Court of Cassation"],
    "6.state": ["FR"],
    "6.rights": ["ECHR Art 5"],
    "8.remedies": ["appeal to the Court of Cassation; final decision: 2026-10-20; notified: 2026-10-22"],
    "9.other": "missing",
}


async def new_complaint(api, **changes) -> str:
    response = await api.post("/v1/complaints", json=COMPLAINT | changes)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_ecthr_and_iachr_documents_follow_the_form_withhold_what_consent_excludes(stack):
    """The victim asked that her identity be withheld from the State and the public, and consented to her
    identity, narrative and evidence, not her contact data, going to the ECtHR and the IACHR; the complaint
    does not say whether the matter went to another international procedure. The ECtHR preparation
    document (Rule 47 §1(a)-(g), Rule 47 §4) and the IACHR petition (Rules of Procedure Art 28) follow the
    form's order, list the withheld contact item and the missing other-procedures item, carry the body's
    confidentiality request, and not one piece of the contact data (read back from the PDFs' text)."""
    owner = await stack.new_institution(kind="ngo")
    async with await stack.client_for("intake", owner) as api:
        complaint_id = await new_complaint(api, no_other_procedures=False)
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
        assert missing["g.other"]["state"] == "missing"  # the complaint does not say
        assert not filing["blocks"]

        document = await api.get(f"/v1/filings/{filing['id']}/document")
        assert document.status_code == 200, document.text
        assert document.headers["content-type"] == "application/pdf"
        text = pdf_text(document.content)
        assert "Court accepts only its own official application form" in text
        assert NAME in text and "1985-03-02" in text and "Held for six weeks" in text and "ECHR Art 5" in text
        assert [value for value in EXCLUDED if value in text + pdf_metadata(document.content)] == []
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
        assert "a.address" in refused.json()["missing"] and "g.other" in refused.json()["missing"]

        petition = await api.post("/v1/filings", json={"complaint_id": complaint_id, "body": "iachr_petition",
                                                       "language": "fr"})
        assert petition.status_code == 201, petition.text
        petition_id = petition.json()["id"]
        prepared = await api.get(f"/v1/filings/{petition_id}/preparation")
        assert prepared.status_code == 200, prepared.text
        pdf = await api.get(f"/v1/filings/{petition_id}/document")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf", pdf.text
        refused = await api.post(f"/v1/filings/{petition_id}/status", json={"action": "mark_ready"})
    assert_iachr_petition(petition.json(), prepared.json(), pdf.content, refused)


def assert_iachr_petition(filing: dict, prepared: dict, pdf: bytes, refused: httpx.Response) -> None:
    """The IACHR petition of the first test, item by item against the rule data (IACHR Rules of
    Procedure, Art 28; Art 28(2) for the identity withheld from the State): the whole text of the PDF
    after its heading is the confidentiality request, then every item of the form in its order with what
    the complaint gives it (the withheld contact item and the missing other-procedures item said so,
    without content), then the list of what is missing; nothing else, and none of the contact data."""
    rules = shipped_rules()
    body = rules.bodies["iachr_petition"]
    form = rules.form_of(body)
    items = [item for section in form.section for item in section.item]
    # Every item of the rule data is accounted for below, in the form's order.
    assert [item.id for item in items] == list(IACHR_CONTENT)
    assert {i.id for i in items if i.level == "required"} == {
        "1.name", "2.withheld", "3.contact", "4.facts", "6.state", "8.remedies", "9.other"}
    assert body.confidentiality is not None and body.confidentiality.provision == "IACHR Rules of Procedure, Art 28(2)"
    request = f"{body.confidentiality.request} [{body.confidentiality.provision}]"
    withheld = f"WITHHELD: the victim's consent does not cover contact data for {body.name}"

    expected, still_missing = ["Request for confidentiality", request], []
    for section in form.section:
        expected.append(section.title)
        for item in section.item:
            content = IACHR_CONTENT[item.id]
            if content is None:
                continue
            expected.append(f"{item.item} {item.label}")
            if isinstance(content, str):
                expected.append(withheld if content == "withheld" else "MISSING: the complaint does not have it")
                still_missing.append(f"- {item.item} {item.label} ({content}, required; {item.provision})")
            else:
                expected += content
            expected.append(f"({item.provision}; {item.status})")
    expected += ["Still missing", *still_missing]

    text = pdf_text(pdf)
    heading, _, rest = text.partition(" Request for confidentiality ")
    assert re.fullmatch(
        re.escape(f"SUBMISSION: {form.name} Complaint ") + r"CMP-[0-9A-Z-]+\. Prepared \d{4}-\d{2}-\d{2} "
        + re.escape(f"from form data version {form.version}. Language: fr; the body accepts {body.languages_note} "
                    f"({', '.join(body.languages)}); translation: not needed."), heading), heading
    assert "Request for confidentiality " + rest == " ".join(expected)
    assert "For an NGO" not in text and "BLOCKED" not in text
    assert [value for value in EXCLUDED if value in text + pdf_metadata(pdf)] == []

    # The filing and its preparation say the same: confidentiality requested, the two items missing.
    assert filing["body"] == "iachr_petition" and filing["translation"] == "not_needed"
    assert filing["confidentiality_requested"] is True and filing["complete"] is False and filing["blocks"] == []
    assert [(m["item_id"], m["state"], m["level"], m["provision"]) for m in filing["missing"]] == [
        ("3.contact", "withheld", "required", "IACHR Rules of Procedure, Art 28(3)"),
        ("9.other", "missing", "required", "IACHR Rules of Procedure, Art 28(9)")]
    assert prepared["confidentiality_request"] == request and prepared["blocks"] == []
    assert [s["id"] for s in prepared["sections"]] == ["1", "2", "3", "4", "5", "6", "7", "9"]
    states = {i["id"]: i["state"] for s in prepared["sections"] for i in s["items"]}
    assert states == {item_id: "not_applicable" if content is None else content if isinstance(content, str)
                      else "present" for item_id, content in IACHR_CONTENT.items()}
    lines = {i["id"]: i["lines"] for s in prepared["sections"] for i in s["items"]}
    assert lines == {item_id: content if isinstance(content, list) else []
                     for item_id, content in IACHR_CONTENT.items()}
    # A required item is withheld and another missing: the petition cannot be marked ready.
    assert refused.status_code == 409, refused.text
    assert refused.json()["missing"] == ["3.contact", "9.other"]


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
