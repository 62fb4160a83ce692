"""notifications inside the whole stack (identity's real tokens, intake's real events): a filing limit
found by an admissibility assessment becomes a watched deadline with its durable timers in NATS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import nats

from comitas_notifications.deadlines.timers import SCHEDULES_STREAM, deadline_token, schedule_subject
from comitas_shared.testing import eventually


def echr_case() -> dict:
    """A final decision ten days ago: the ECtHR's four months are ahead whatever the date of the run."""
    decided = datetime.now(UTC).date() - timedelta(days=10)
    return {
        "summary": "Ill-treatment in police custody; the appeal was dismissed.",
        "respondent_states": ["FR"],
        "rights_invoked": ["ECHR art 3"],
        "domestic_remedies": [{"description": "Cour de cassation", "exhausted": True,
                               "final_decision_date": decided.isoformat(),
                               "notification_date": (decided + timedelta(days=2)).isoformat()}],
        "filer": {"kind": "individual", "is_victim": True},
    }


async def test_an_assessed_filing_limit_is_watched_with_durable_timers(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint = (await api.post("/v1/complaints", json=echr_case())).json()
        assessed = await api.post(f"/v1/complaints/{complaint['id']}/assessments")
        assert assessed.status_code == 201, assessed.text
    key = f"complaint:{complaint['id']}:filing:echr"

    async with await stack.client_for("notifications", owner, scope="deadlines:read") as api:
        async def watched():
            items = (await api.get("/v1/deadlines", params={"state": "open", "limit": 100})).json()["items"]
            return next((d for d in items if d["deadline_key"] == key), None)

        deadline = await eventually(watched, timeout=10)
    due_at = datetime.fromisoformat(deadline["due_at"])

    connection = await nats.connect(stack.nats.url)
    try:
        js = connection.jetstream()

        async def due_timer():
            try:
                return await js.get_last_msg(SCHEDULES_STREAM, schedule_subject(deadline_token(owner.institution_id, key), "overdue"))
            except nats.js.errors.NotFoundError:
                return None

        timer = await eventually(due_timer, timeout=10)
    finally:
        await connection.close()
    fires_at = datetime.fromisoformat(timer.headers["Nats-Schedule"].removeprefix("@at "))
    assert fires_at == due_at > datetime.now(UTC) + timedelta(days=90)
