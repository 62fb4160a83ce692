"""An ECtHR proceeding's time limits, from intake to notifications over the running stack (issue 15,
acceptance 3): real identity tokens, intake's outbox relay, a real NATS, notifications' consumer and
its timers in the ``SCHEDULES`` stream.

What is shown, through intake's proceedings API and notifications' deadlines API only:

- a Chamber judgment's date gives notifications the time limit to request a referral to the Grand
  Chamber, ending three months from the date of the judgment (ECHR Art 43 §1: "within a period of three
  months from the date of the judgment of the Chamber, any party to the case may, in exceptional cases,
  request that the case be referred to the Grand Chamber"), with its rule and source and its reminders
  set in NATS;
- a referral request meets it: notifications shows it met and no reminder of it is left in NATS;
- the judgment having become final (Art 44 §2(c): the panel rejected the request), notifications gets
  the payment of just satisfaction, usually "within three months from the date on which the judgment
  becomes final" (the operative part of the Court's judgments, Art 41 read with Art 44), and the
  respondent State's action plan or action report to the Committee of Ministers, due within six months
  of finality (Committee of Ministers' supervision of execution, Art 46 §2; its working methods) —
  both, as the issue says, "unconfirmed" rules: reminders to check, not hard limits;
- the payment and the action plan each meet their own limit in notifications, and their reminders go.

The expected days are counted here from the rules (same day of the month, n months later), not read
from the code; the days chosen fall on the 28th of a month or earlier, so no month-end question arises.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from comitas_notifications.deadlines.timers import SCHEDULES_STREAM, deadline_token
from comitas_shared.testing import eventually

TIMEOUT = 15  # the outbox relay (0.2 s polls), NATS, notifications' consumer and its timers' publish
DEFAULT_REMINDERS = ["d14", "d3", "d1", "day", "overdue"]  # the stack's defaults: 14, 3 and 1 days, the day, overdue

# An application lodged in 2022 within four months of the final domestic decision, registered, and
# judged by a Chamber recently.
COMPLAINT = {
    "summary": "Held for six weeks without being brought before a judge.",
    "respondent_states": ["FR"],
    "victims": [{"name": "Aysel Kaya", "birth_date": "1985-03-02", "nationalities": ["TR"],
                 "addresses": [{"text": "12 Rue Secrete, Lyon", "country": "FR"}],
                 "contacts": [{"kind": "email", "value": "aysel@example.org"}]}],
    "incidents": [{"start": "2021-09-01", "country": "FR", "place": "Lyon", "act_types": ["030102"],
                   "narrative": "Held for six weeks."}],
    "rights": [{"instrument": "ECHR", "article": "5"}],
    "domestic_remedies": [{"description": "appeal to the Court of Cassation", "exhausted": True,
                           "final_decision_date": "2022-01-10", "notification_date": "2022-01-12"}],
    "no_other_procedures": True,
    "disclosure": {"receiving_body": "allowed", "respondent_state": "withheld", "public": "withheld",
                   "reasons": "fear of reprisals"},
    "languages": {"submission": "fr"},
}
CONSENT = {"status": "given", "purposes": ["file_with_mechanism"], "recipient": {"type": "mechanism", "value": "echr"},
           "categories": ["identity", "contact", "narrative"], "channel": "written"}


def months_later(day: date, months: int) -> date:
    """The same day of the month ``months`` later (only asked of days up to the 28th)."""
    assert day.day <= 28
    years, month0 = divmod(day.month - 1 + months, 12)
    return date(day.year + years, month0 + 1, day.day)


def on_or_before_the_28th(day: date) -> date:
    while day.day > 28:
        day -= timedelta(days=1)
    return day


async def proceeding_deadlines(api, complaint_id: str) -> dict[str, dict]:
    """Notifications' deadlines of the complaint that its proceedings opened, by limit."""
    response = await api.get("/v1/deadlines", params={"case_ref": complaint_id, "limit": 100})
    assert response.status_code == 200, response.text
    return {d["kind"].removeprefix("proceeding:"): d for d in response.json()["items"]
            if d["kind"].startswith("proceeding:")}


async def schedules_of(stack, owner_id: str, deadline_key: str) -> dict[str, int]:
    """The reminder schedules NATS holds for the owner's copy of a deadline (subject: count)."""
    js = stack.notifications.app.state.platform.nats.js
    token = deadline_token(owner_id, deadline_key)
    info = await js.stream_info(SCHEDULES_STREAM, subjects_filter=f"schedules.deadline.{token}.>")
    return {subject.rsplit(".", 1)[1]: count for subject, count in (info.state.subjects or {}).items()}


async def test_ecthr_limits_reach_notifications_and_are_met_there_by_the_steps_that_answer_them(stack):
    owner = await stack.new_institution(kind="ngo")
    today = datetime.now(UTC).date()
    final = on_or_before_the_28th(today - timedelta(days=2))  # the panel's rejection: Art 44 §2(c)
    judged = on_or_before_the_28th(final - timedelta(days=14))
    referral_asked = judged + timedelta(days=7)
    expected = {
        "grand_chamber_referral": months_later(judged, 3),  # Art 43 §1
        "just_satisfaction": months_later(final, 3),  # Art 41: the judgment's operative part, usually 3 months
        "action_plan": months_later(final, 6),  # Art 46 §2: Committee of Ministers, 6 months
    }

    async with (await stack.client_for("intake", owner) as intake,
                await stack.client_for("notifications", owner, scope="deadlines:read") as notifications):
        created = await intake.post("/v1/complaints", json=COMPLAINT)
        assert created.status_code == 201, created.text
        complaint_id = created.json()["id"]
        consent = await intake.post(f"/v1/complaints/{complaint_id}/consents", json=CONSENT)
        assert consent.status_code == 201, consent.text
        filing = await intake.post("/v1/filings", json={"complaint_id": complaint_id, "body": "echr", "language": "fr"})
        assert filing.status_code == 201, filing.text
        filing_id = filing.json()["id"]
        for change in ({"action": "mark_ready"}, {"action": "file", "on": "2022-04-20", "channel": "post"},
                       {"action": "register", "on": "2022-05-10", "reference": "21345/22"}):
            moved = await intake.post(f"/v1/filings/{filing_id}/status", json=change)
            assert moved.status_code == 200, moved.text
        steps = f"/v1/filings/{filing_id}/proceedings/steps"

        def key(limit: str) -> str:
            return f"filing:{filing_id}:{limit}"

        async def step(kind: str, on: date) -> dict[str, dict]:
            response = await intake.post(steps, json={"kind": kind, "on": on.isoformat()})
            assert response.status_code == 201, response.text
            return {x["deadline"]: x for x in response.json()["limits"]}

        async def reached(*limits: str) -> dict[str, dict]:
            async def check():
                found = await proceeding_deadlines(notifications, complaint_id)
                # Reached, and its reminders set in NATS (the API lists them once the timers are published).
                return found if all(found.get(x, {}).get("reminders") for x in limits) else None

            return await eventually(check, timeout=TIMEOUT)

        async def met_in_notifications(limit: str) -> dict:
            async def check():
                found = (await proceeding_deadlines(notifications, complaint_id)).get(limit)
                return found if found and found["state"] == "met" else None

            deadline = await eventually(check, timeout=TIMEOUT)

            async def no_schedule_left():
                return await schedules_of(stack, owner.institution_id, key(limit)) == {}

            await eventually(no_schedule_left, timeout=TIMEOUT)
            return deadline

        # 1. The Chamber judgment: the Grand Chamber referral limit, three months from its date.
        limits = await step("chamber_judgment", judged)
        assert limits["grand_chamber_referral"]["last_day"] == expected["grand_chamber_referral"].isoformat()
        found = await reached("grand_chamber_referral")
        assert set(found) == {"grand_chamber_referral"}
        referral = found["grand_chamber_referral"]
        assert {k: referral[k] for k in ("deadline_key", "owner_institution_id", "concerns", "kind", "title",
                                         "case_ref", "case_kind", "mechanism", "last_day", "time_zone", "due_at",
                                         "calendar", "hard", "rule", "state", "standing", "closed_reason")} == {
            "deadline_key": key("grand_chamber_referral"), "owner_institution_id": owner.institution_id,
            "concerns": [owner.institution_id], "kind": "proceeding:grand_chamber_referral",
            "title": "Request for referral to the Grand Chamber", "case_ref": complaint_id, "case_kind": "complaint",
            "mechanism": "echr", "last_day": expected["grand_chamber_referral"].isoformat(), "time_zone": "UTC",
            "due_at": f"{expected['grand_chamber_referral'].isoformat()}T23:59:59Z",
            "calendar": f"3 months from {judged.isoformat()}", "hard": True,
            "rule": {"provision": "ECHR Arts 43 and 44 §2", "source": "lovdata.no (Art 44)", "status": "confirmed"},
            "state": "open", "standing": "upcoming", "closed_reason": None}
        # The rule notifications shows is the one intake's proceedings show.
        assert referral["rule"] == limits["grand_chamber_referral"]["rule"]
        assert referral["reminders"] == DEFAULT_REMINDERS
        assert await schedules_of(stack, owner.institution_id, key("grand_chamber_referral")) == {
            r: 1 for r in DEFAULT_REMINDERS}

        # 2. The referral request answers it: met in notifications, its reminders gone from NATS.
        limits = await step("referral_requested", referral_asked)
        assert limits["grand_chamber_referral"]["status"] == "met"
        referral = await met_in_notifications("grand_chamber_referral")
        assert (referral["standing"], referral["closed_reason"], referral["reminders"]) == ("met", "met", [])
        assert referral["last_day"] == expected["grand_chamber_referral"].isoformat()

        # 3. Finality: just satisfaction (3 months) and the action plan (6 months), each from its date.
        limits = await step("judgment_final", final)
        assert {x: limits[x]["last_day"] for x in ("just_satisfaction", "action_plan")} == {
            x: expected[x].isoformat() for x in ("just_satisfaction", "action_plan")}
        found = await reached("just_satisfaction", "action_plan")
        assert set(found) == {"grand_chamber_referral", "just_satisfaction", "action_plan"}
        assert found["grand_chamber_referral"]["state"] == "met"  # finality does not reopen or touch it
        for limit, title, provision in (
                ("just_satisfaction", "Payment of just satisfaction",
                 "operative provisions of the judgment (Art 41), usually three months from finality"),
                ("action_plan", "State's action plan or action report to the Committee of Ministers",
                 "Committee of Ministers execution supervision (Art 46 §2)")):
            deadline = found[limit]
            assert {k: deadline[k] for k in ("deadline_key", "kind", "title", "case_ref", "mechanism", "last_day",
                                             "due_at", "calendar", "hard", "state", "standing", "reminders")} == {
                "deadline_key": key(limit), "kind": f"proceeding:{limit}", "title": title, "case_ref": complaint_id,
                "mechanism": "echr", "last_day": expected[limit].isoformat(),
                "due_at": f"{expected[limit].isoformat()}T23:59:59Z",
                "calendar": f"{3 if limit == 'just_satisfaction' else 6} months from {final.isoformat()}",
                "hard": False, "state": "open", "standing": "upcoming", "reminders": DEFAULT_REMINDERS}
            assert deadline["rule"]["provision"] == provision and deadline["rule"]["status"] == "unconfirmed"
            assert deadline["rule"] == limits[limit]["rule"]
            assert await schedules_of(stack, owner.institution_id, key(limit)) == {r: 1 for r in DEFAULT_REMINDERS}

        # 4. Each answered by its own step: the payment meets only just satisfaction, the plan the plan.
        limits = await step("just_satisfaction_paid", today)
        assert (limits["just_satisfaction"]["status"], limits["action_plan"]["status"]) == ("met", "open")
        paid = await met_in_notifications("just_satisfaction")
        assert (paid["standing"], paid["closed_reason"], paid["reminders"]) == ("met", "met", [])
        still = (await proceeding_deadlines(notifications, complaint_id))["action_plan"]
        assert (still["state"], still["reminders"]) == ("open", DEFAULT_REMINDERS)
        assert await schedules_of(stack, owner.institution_id, key("action_plan")) == {r: 1 for r in DEFAULT_REMINDERS}

        limits = await step("action_plan_submitted", today)
        assert limits["action_plan"]["status"] == "met"
        plan = await met_in_notifications("action_plan")
        assert (plan["standing"], plan["closed_reason"], plan["reminders"]) == ("met", "met", [])

        # Nothing of the proceedings is left open in notifications; all three are listed as met.
        response = await notifications.get("/v1/deadlines", params={"case_ref": complaint_id, "state": "met"})
        assert response.status_code == 200, response.text
        assert sorted(d["kind"] for d in response.json()["items"] if d["kind"].startswith("proceeding:")) == [
            "proceeding:action_plan", "proceeding:grand_chamber_referral", "proceeding:just_satisfaction"]
        response = await notifications.get("/v1/deadlines", params={"case_ref": complaint_id, "state": "open"})
        assert [d["kind"] for d in response.json()["items"] if d["kind"].startswith("proceeding:")] == []
