"""An ECtHR proceeding through the running stack (issue 15, acceptance 3): a Chamber judgment's date opens
the 3-month Grand Chamber referral limit; finality meets it and opens the just-satisfaction and
action-plan limits; a Rule 39 request is recorded with its channel (never e-mail); each limit is asked of
notifications and withdrawn as met by the step that answers it."""

from __future__ import annotations

from outbox_kit import outbox
from test_filings_api import COMPLAINT, consent_for, new_complaint


async def test_an_ecthr_proceeding_opens_and_meets_its_limits(stack):
    owner = await stack.new_institution(kind="ngo")
    async with await stack.client_for("intake", owner) as api:
        complaint_id = await new_complaint(api, disclosure=COMPLAINT["disclosure"])
        await api.post(f"/v1/complaints/{complaint_id}/consents",
                       json=consent_for("echr", ["identity", "contact", "narrative"]))
        filing = (await api.post("/v1/filings", json={"complaint_id": complaint_id, "body": "echr",
                                                      "language": "fr"})).json()
        steps = f"/v1/filings/{filing['id']}/proceedings/steps"
        # Interim measures may be asked before the application is lodged; the proceedings' steps may not.
        early = await api.post(steps, json={"kind": "communicated", "on": "2026-11-01",
                                            "deadlines": {"observations": "2027-01-15"}})
        assert early.status_code == 409, early.text

        by_mail = await api.post(steps, json={"interim": "request", "on": "2026-11-03", "channel": "email"})
        assert by_mail.status_code == 422 and "never by e-mail" in by_mail.text, by_mail.text
        rule39 = await api.post(steps, json={"interim": "request", "on": "2026-11-03", "channel": "r39_site"})
        assert rule39.status_code == 201, rule39.text
        assert rule39.json()["interim_state"] == "requested" and rule39.json()["steps"][0]["channel"] == "r39_site"

        for change in ({"action": "mark_ready"}, {"action": "file", "on": "2026-11-04", "channel": "post"},
                       {"action": "register", "on": "2026-11-06", "reference": "12345/26"}):
            moved = await api.post(f"/v1/filings/{filing['id']}/status", json=change)
            assert moved.status_code == 200, moved.text
        judged = await api.post(steps, json={"kind": "chamber_judgment", "on": "2026-11-10"})
        assert judged.status_code == 201, judged.text
        limits = {x["deadline"]: x for x in judged.json()["limits"]}
        assert limits["grand_chamber_referral"]["last_day"] == "2027-02-10"
        assert limits["grand_chamber_referral"]["rule"]["status"] == "confirmed"

        final = await api.post(steps, json={"kind": "judgment_final", "on": "2026-11-30"})
        assert final.status_code == 201, final.text
        limits = {x["deadline"]: x for x in final.json()["limits"]}
        assert limits["grand_chamber_referral"]["status"] == "met"
        assert limits["just_satisfaction"]["last_day"] == "2027-02-28"
        assert limits["action_plan"]["last_day"] == "2027-05-30"

        paid = await api.post(steps, json={"kind": "just_satisfaction_paid", "on": "2026-12-01"})
        assert {x["deadline"]: x["status"] for x in paid.json()["limits"]}["just_satisfaction"] == "met"
        unknown = await api.post(steps, json={"kind": "opinion_adopted", "on": "2026-12-01"})
        assert unknown.status_code == 422, unknown.text

    requested = [e["data"] for e in await outbox(stack, "comitas.deadline.requested")
                 if e["data"]["case_ref"] == complaint_id]
    assert {d["kind"] for d in requested} == {"proceeding:grand_chamber_referral", "proceeding:just_satisfaction",
                                              "proceeding:action_plan"}
    withdrawn = [e["data"] for e in await outbox(stack, "comitas.deadline.withdrawn")
                 if e["subject"] == complaint_id]
    assert sorted(d["deadline_key"].rsplit(":", 1)[1] for d in withdrawn) == ["grand_chamber_referral",
                                                                              "just_satisfaction"]
    assert all(d["reason"] == "met" for d in withdrawn)
