"""Compliance through the running stack (issue 15, acceptance 4): twenty decisions against three states,
their measures' statuses over two years, give the right trajectories; GET /v1/compliance suppresses every
cell under 5; another institution sees no case-level data; the state's report is watched and met."""

from __future__ import annotations

from outbox_kit import outbox
from test_filings_api import COMPLAINT, consent_for, new_complaint

# States no other test decides against: the published tables are the platform's.
PLAN = {"LI": 8, "IS": 7, "MT": 5}


async def decided_filing(api, complaint_id: str) -> str:
    filing = await api.post("/v1/filings", json={"complaint_id": complaint_id, "body": "ccpr", "language": "en"})
    assert filing.status_code == 201, filing.text
    assert filing.json()["complete"], filing.json()["missing"]
    filing_id = filing.json()["id"]
    for change in ({"action": "mark_ready"}, {"action": "file", "on": "2024-06-01", "channel": "email"},
                   {"action": "register", "on": "2024-07-01", "reference": "CCPR/1/2024"},
                   {"action": "decide", "on": "2025-03-01"}):
        response = await api.post(f"/v1/filings/{filing_id}/status", json=change)
        assert response.status_code == 200, response.text
    return filing_id


async def test_twenty_decisions_give_suppressed_trajectories_and_no_case_level_data(stack):
    owner, other = await stack.new_institution(kind="nhri"), await stack.new_institution(kind="nhri")
    async with await stack.client_for("intake", owner) as api:
        complaint_id = await new_complaint(api, relief={"sought": ["compensation"]}, languages={"submission": "en"})
        await api.post(f"/v1/complaints/{complaint_id}/consents",
                       json=consent_for("ccpr", ["identity", "contact", "narrative"]))
        decisions: dict[str, list[tuple[str, str]]] = {}
        for state, count in PLAN.items():
            for _ in range(count):
                filing_id = await decided_filing(api, complaint_id)
                made = await api.post(f"/v1/filings/{filing_id}/decision", json={
                    "respondent_state": state, "decided_on": "2025-03-01",
                    "measures": [{"kind": "individual", "type": "compensation"}]})
                assert made.status_code == 201, made.text
                assert made.json()[0]["report_due"] == "2025-08-28"
                decisions.setdefault(state, []).append((filing_id, made.json()[0]["id"]))

        async def status(filing_id, measure_id, value, as_of, source="state_report", grade=None):
            response = await api.post(f"/v1/filings/{filing_id}/measures/{measure_id}/statuses",
                                      json={"status": value, "as_of": as_of, "source": source, "grade": grade})
            assert response.status_code == 201, response.text
            return response.json()

        for index, (filing_id, measure_id) in enumerate(decisions["LI"]):
            await status(filing_id, measure_id, "partial", "2025-08-01", grade="B")
            if index < 6:
                await status(filing_id, measure_id, "full", "2026-05-01", source="body_assessment", grade="A")
        for filing_id, measure_id in decisions["MT"][:2]:
            await status(filing_id, measure_id, "partial", "2026-02-01", source="ngo_submission")
        # Out of order, from a source the Committee does not take, graded off its scale: refused, nothing kept.
        filing_id, measure_id = decisions["IS"][0]
        for body in ({"status": "full", "as_of": "2025-01-01", "source": "state_report"},
                     {"status": "full", "as_of": "2025-05-01", "source": "rule9_submission"},
                     {"status": "full", "as_of": "2025-05-01", "source": "state_report", "grade": "F"}):
            refused = await api.post(f"/v1/filings/{filing_id}/measures/{measure_id}/statuses", json=body)
            assert refused.status_code == 422, refused.text
        listed = await api.get(f"/v1/filings/{filing_id}/measures")
        assert [h["source"] for h in listed.json()["items"][0]["history"]] == ["decision"]

        published = await api.get("/v1/compliance")
        assert published.status_code == 200, published.text

    tables = {t["dimension"]: t for t in published.json()["tables"]}
    rows = {(r["key"], r["period"]): {c["status"]: c["measures"] for c in r["cells"]} | {"total": r["total"]}
            for r in tables["respondent_state"]["rows"] if r["key"] in PLAN}
    assert rows[("LI", "2025")] == {"not_implemented": None, "partial": 8, "full": None, "total": 8}
    assert rows[("LI", "2026")] == {"not_implemented": None, "partial": None, "full": 6, "total": 8}
    assert rows[("IS", "2025")] == rows[("IS", "2026")] == {"not_implemented": 7, "partial": None, "full": None,
                                                            "total": 7}
    assert rows[("MT", "2025")] == {"not_implemented": 5, "partial": None, "full": None, "total": 5}
    assert rows[("MT", "2026")] == {"not_implemented": None, "partial": None, "full": None, "total": 5}
    values = [c["measures"] for t in tables.values() for r in t["rows"] for c in r["cells"]
              if c["measures"] is not None] + [r["total"] for t in tables.values() for r in t["rows"] if r["total"]]
    assert all(v >= 5 for v in values)
    assert tables["respondent_state"]["chart"]["mark"] == "bar"
    assert any(p["id"] == "ccpr" and p["scale"] == ["A", "B", "C", "D", "E"] for p in published.json()["procedures"])

    async with await stack.client_for("intake", other) as api:
        theirs = await api.get("/v1/compliance")
        assert theirs.status_code == 200
        ids = [complaint_id] + [x for pairs in decisions.values() for pair in pairs for x in pair]
        assert not any(i in theirs.text for i in ids)
        assert (await api.get(f"/v1/filings/{filing_id}/measures")).status_code == 404

    # The state's report is watched for each decision, and met by the first state report recorded.
    requested = {e["data"]["deadline_key"] for e in await outbox(stack, "comitas.deadline.requested")
                 if e["data"]["kind"] == "follow_up_report" and e["data"]["case_ref"] == complaint_id}
    assert len(requested) == 20
    met = {e["data"]["deadline_key"] for e in await outbox(stack, "comitas.deadline.withdrawn")
           if e["subject"] == complaint_id and e["data"]["deadline_key"].endswith(":follow_up_report")}
    assert met == {f"filing:{f}:follow_up_report" for f, _ in decisions["LI"]}
    assert COMPLAINT["summary"] not in published.text
