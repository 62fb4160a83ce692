"""Patterns through the running stack (issue 15, acceptance 5): five distinct victims from three
institutions against one state for the same type of act within the window raise one pattern event, with
counts only, to the subscriber; four do not; a state authority cannot subscribe."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text
from test_filings_api import outbox

from comitas_intake.patterns import service as patterns
from comitas_shared.auth import InstitutionId
from comitas_shared.clock import real_now
from comitas_shared.db import Database
from comitas_shared.testing import eventually

STATE, ACT = "LU", "030103"


async def note(stack, holder, name: str) -> str:
    complaint_id = str(uuid.uuid4())
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            await patterns.note_complaint(session, stack.intake.app.state.keyring,
                                          institution_id=InstitutionId(holder.institution_id), complaint_id=complaint_id,
                                          persons=[(name, "1990-01-01")], respondent_states=[STATE], act_types=[ACT],
                                          day=real_now().date())
    finally:
        await database.dispose()
    return complaint_id


async def noted(stack, complaint_id: str) -> bool:
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            found = await session.execute(text("SELECT count(*) FROM pattern_case WHERE complaint_id = :id"),
                                          {"id": complaint_id})
            return bool(found.scalar_one())
    finally:
        await database.dispose()


async def detect(stack) -> list:
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            return await patterns.run_once(session, stack.intake.app.state.platform, now=real_now())
    finally:
        await database.dispose()


async def test_five_victims_from_three_institutions_raise_one_pattern_event_with_counts_only(stack):
    holders = [await stack.new_institution(kind=k) for k in ("ngo", "nhri", "ombudsperson")]
    commission = await stack.new_institution(kind="regional_commission")
    authority = await stack.new_institution(kind="central_authority")

    async with await stack.client_for("intake", authority) as api:
        refused = await api.post("/v1/pattern-subscriptions", json={"states": [STATE]})
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    async with await stack.client_for("intake", commission) as api:
        subscribed = await api.post("/v1/pattern-subscriptions", json={"states": [STATE]})
        assert subscribed.status_code == 201, subscribed.text
        assert (await api.get(f"/v1/pattern-subscriptions/{subscribed.json()['id']}")).status_code == 200

    names = [f"Victim {i} {uuid.uuid4().hex[:6]}" for i in range(4)]
    complaint_ids = [await note(stack, holders[i % 3], name) for i, name in enumerate(names)]
    # The same person again, at another institution (written otherwise): still four distinct victims.
    complaint_ids.append(await note(stack, holders[2], names[0].upper()))
    await detect(stack)
    events = [e for e in await outbox(stack, "comitas.pattern.detected") if e["data"]["respondent_state"] == STATE]
    assert events == []

    complaint_ids.append(await note(stack, holders[1], f"Victim 5 {uuid.uuid4().hex[:6]}"))
    await detect(stack)
    await detect(stack)  # a cluster is told once while it lasts
    events = [e for e in await outbox(stack, "comitas.pattern.detected") if e["data"]["respondent_state"] == STATE]
    assert len(events) == 1, events
    data = events[0]["data"]
    assert data["institution_id"] == commission.institution_id and data["act_type"] == ACT
    assert data["victims"] == 5 and data["institutions"] == 3 and data["threshold"] == 5
    assert date.fromisoformat(data["window_end"]) == real_now().date()
    text = str(events[0])
    assert not any(i in text for i in complaint_ids + [h.institution_id for h in holders])


async def test_complaints_submitted_at_three_institutions_feed_the_detection(stack):
    """The same, end to end: complaints submitted through the API are noted for patterns on submission."""
    holders = [await stack.new_institution(kind=k) for k in ("ngo", "nhri", "ombudsperson")]
    field_office = await stack.new_institution(kind="un_field_office")
    async with await stack.client_for("intake", field_office) as api:
        assert (await api.post("/v1/pattern-subscriptions", json={})).status_code == 201

    async def submit(holder, name):
        async with await stack.client_for("intake", holder) as api:
            response = await api.post("/v1/complaints", json={
                "respondent_states": ["LV"], "victims": [{"name": name, "birth_date": "1980-05-05"}],
                "incidents": [{"start": "2026-10-01", "country": "LV", "act_types": ["020101"]}]})
            assert response.status_code == 201, response.text
        # Noted by intake's consumer of comitas.complaint.submitted, just after the request (ADR 0015).
        await eventually(lambda: noted(stack, response.json()["id"]), timeout=30)

    for i in range(4):
        await submit(holders[i % 3], f"Person {i} {uuid.uuid4().hex[:6]}")
    await detect(stack)
    assert not [e for e in await outbox(stack, "comitas.pattern.detected") if e["data"]["respondent_state"] == "LV"]
    await submit(holders[0], f"Person 4 {uuid.uuid4().hex[:6]}")
    await detect(stack)
    told = [e["data"] for e in await outbox(stack, "comitas.pattern.detected")
            if e["data"]["respondent_state"] == "LV" and e["data"]["institution_id"] == field_office.institution_id]
    assert len(told) == 1 and told[0]["victims"] == 5 and told[0]["institutions"] == 3 and told[0]["act_type"] == "020101"
