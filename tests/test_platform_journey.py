"""The first journey end to end: a token from identity, a complaint in intake, the event through the
outbox and NATS, and a signed webhook from notifications — with the failures on the way."""

from __future__ import annotations

import asyncio
import json

import httpx
from sqlalchemy import select

from comitas_shared.db import Database
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.testing import eventually

from .webhooks import verify

COMPLAINT = {"summary": "Returned across the border without a hearing.", "respondent_states": ["IT"]}


async def subscribe(stack, credentials, receiver, event_types=("comitas.complaint.submitted",)) -> str:
    async with await stack.client_for("notifications", credentials) as api:
        response = await api.post("/v1/subscriptions", json={"event_types": list(event_types), "url": receiver.url})
    assert response.status_code == 201, response.text
    return response.json()["secret"]


async def submit(stack, credentials, body=COMPLAINT) -> dict:
    async with await stack.client_for("intake", credentials) as api:
        response = await api.post("/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_submitted_complaint_reaches_a_signed_webhook_within_5_seconds(stack, webhook_receiver):
    institution = await stack.new_institution()
    secret = await subscribe(stack, institution, webhook_receiver)
    complaint = await submit(stack, institution)

    deliveries = await eventually(lambda: webhook_receiver.for_subject(complaint["id"]), timeout=5)
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert verify(secret, delivery["headers"], delivery["body"])
    assert not verify("whsec_" + "A" * 32, delivery["headers"], delivery["body"])
    event = json.loads(delivery["body"])
    assert event["type"] == "comitas.complaint.submitted"
    assert event["specversion"] == "1.0"
    assert event["data"]["complaint_id"] == complaint["id"]
    assert event["data"]["reference"] == complaint["reference"]
    assert delivery["headers"]["webhook-id"] == event["id"]


async def test_events_of_one_institution_do_not_reach_another(stack, webhook_receiver):
    owner, other = await stack.new_institution(), await stack.new_institution()
    await subscribe(stack, other, webhook_receiver)
    complaint = await submit(stack, owner)
    # Give the pipeline the time it needs to deliver a matching event, then check nothing came.
    probe = await submit(stack, other)
    await eventually(lambda: webhook_receiver.for_subject(probe["id"]), timeout=5)
    assert webhook_receiver.for_subject(complaint["id"]) == []


async def intake_outbox_row(stack, event_filter) -> dict | None:
    from comitas_intake.models import tables

    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            rows = (await session.execute(select(tables.outbox))).mappings().all()
    finally:
        await database.dispose()
    matching = [dict(r) for r in rows if event_filter(r)]
    return matching[0] if matching else None


async def test_relay_stopped_between_commit_and_publish_delivers_once_after_restart(stack, webhook_receiver):
    relay = stack.intake.app.state.platform.relay
    institution = await stack.new_institution()
    await subscribe(stack, institution, webhook_receiver)
    await relay.stop()
    try:
        complaint = await submit(stack, institution)
        row = await intake_outbox_row(stack, lambda r: r["envelope"]["subject"] == complaint["id"])
        assert row is not None and row["published_at"] is None
        # The relay crashed after publishing but before marking the row: the message is already in NATS.
        event = CloudEvent.from_record(row["envelope"])
        js = stack.intake.app.state.platform.nats.js
        await js.publish(event.nats_subject, event.nats_body(), headers=event.nats_headers())
        await eventually(lambda: webhook_receiver.for_subject(complaint["id"]), timeout=5)
    finally:
        relay.start()
    row = await eventually(lambda: _published(stack, complaint["id"]), timeout=5)
    assert row["published_at"] is not None
    await asyncio.sleep(1.0)  # room for a duplicate to show up, if JetStream let one through
    assert len(webhook_receiver.for_subject(complaint["id"])) == 1


async def _published(stack, complaint_id):
    row = await intake_outbox_row(stack, lambda r: r["envelope"]["subject"] == complaint_id)
    return row if row and row["published_at"] else None


async def test_nats_down_api_still_accepts_and_every_event_arrives_after(stack, webhook_receiver):
    institution = await stack.new_institution()
    await subscribe(stack, institution, webhook_receiver)
    stack.nats.stop()
    try:
        complaints = [await submit(stack, institution) for _ in range(5)]
        async with httpx.AsyncClient(base_url=stack.intake.url) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["nats"] == "unreachable"
    finally:
        stack.nats.start()
    for complaint in complaints:
        await eventually(lambda c=complaint: webhook_receiver.for_subject(c["id"]), timeout=20)
    assert all(len(webhook_receiver.for_subject(c["id"])) == 1 for c in complaints)


async def test_one_trace_links_request_relay_message_and_webhook(stack, webhook_receiver, span_exporter):
    institution = await stack.new_institution()
    await subscribe(stack, institution, webhook_receiver)
    complaint = await submit(stack, institution)
    await eventually(lambda: webhook_receiver.for_subject(complaint["id"]), timeout=5)

    delivered = webhook_receiver.for_subject(complaint["id"])[0]
    trace_id = delivered["headers"]["traceparent"].split("-")[1] if "traceparent" in delivered["headers"] else None

    def spans_of_trace():
        spans = span_exporter.get_finished_spans()
        server = [s for s in spans if s.name.startswith("POST /v1/complaints") and s.kind.name == "SERVER"]
        candidates = {format(s.context.trace_id, "032x") for s in server}
        for tid in candidates:
            in_trace = [s for s in spans if format(s.context.trace_id, "032x") == tid]
            names = [s.name for s in in_trace]
            if (any(n == "events.complaint.submitted publish" for n in names)
                    and any(n.startswith("events.complaint.submitted process") for n in names)
                    and any(s.kind.name == "CLIENT" and webhook_receiver.url.split("/hook")[0] in
                            str(s.attributes.get("url.full", s.attributes.get("http.url", ""))) for s in in_trace)):
                return tid
        return None

    tid = await eventually(spans_of_trace, timeout=5)
    if trace_id is not None:
        assert trace_id == tid


async def deliveries_for(api: httpx.AsyncClient, state: str | None = None) -> list[dict]:
    params = {"limit": 100} | ({"state": state} if state else {})
    return (await api.get("/v1/deliveries", params=params)).json()["items"]


async def test_receiver_down_for_a_while_is_retried_until_it_answers(stack, webhook_receiver):
    institution = await stack.new_institution()
    secret = await subscribe(stack, institution, webhook_receiver)
    webhook_receiver.status = 503
    complaint = await submit(stack, institution)
    async with await stack.client_for("notifications", institution, scope="subscriptions:manage") as api:
        async def failed_once():
            items = await deliveries_for(api)
            return items if items and items[0]["attempt_count"] >= 1 else None

        await eventually(failed_once, timeout=10)
        webhook_receiver.status = 204
        [request] = await eventually(lambda: webhook_receiver.for_subject(complaint["id"]), timeout=10)
        assert verify(secret, request["headers"], request["body"])
        [delivery] = await eventually(lambda: deliveries_for(api, "delivered"), timeout=5)
        detail = (await api.get(f"/v1/deliveries/{delivery['id']}")).json()
        assert detail["attempts"][0]["status_code"] == 503 and detail["attempts"][-1]["status_code"] == 204


async def test_receiver_that_never_returns_ends_dead_and_can_be_redelivered(stack, webhook_receiver):
    institution = await stack.new_institution()
    await subscribe(stack, institution, webhook_receiver)
    webhook_receiver.status = 500
    complaint = await submit(stack, institution)
    async with await stack.client_for("notifications", institution, scope="subscriptions:manage") as api:
        [dead] = await eventually(lambda: deliveries_for(api, "dead"), timeout=20)
        detail = (await api.get(f"/v1/deliveries/{dead['id']}")).json()
        assert len(detail["attempts"]) == 4  # webhook_max_attempts in the test stack
        assert webhook_receiver.for_subject(complaint["id"]) == []

        webhook_receiver.status = 204
        assert (await api.post(f"/v1/deliveries/{dead['id']}/redeliver")).status_code == 200
        await eventually(lambda: webhook_receiver.for_subject(complaint["id"]), timeout=5)
        await eventually(lambda: deliveries_for(api, "delivered"), timeout=5)
