"""Events to signed webhooks: matching, signatures, retries, dead letters, redelivery, idempotency."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from standardwebhooks import Webhook, WebhookVerificationError

from comitas_shared.events.catalogue import (
    COMPLAINT_SUBMITTED,
    TOKEN_REVOKED,
    ComplaintSubmitted,
    TokenRevoked,
)
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.testing import eventually


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """A subscriber's check with the Standard Webhooks reference library, not with our sender's code."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def complaint_submitted(institution_id: str, *, concerns: tuple[str, ...] = ()) -> CloudEvent:
    complaint_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    return COMPLAINT_SUBMITTED.build(
        source="/comitas/intake", subject=complaint_id, institution_id=institution_id, time=now, concerns=concerns,
        data=ComplaintSubmitted(complaint_id=complaint_id, institution_id=institution_id, reference="CMP-TEST",
                                channel="partner_api", submitted_at=now, respondent_states=["IT"]))


async def subscribe(api, url: str, event_types=("comitas.complaint.submitted",)) -> dict:
    response = await api.post("/v1/subscriptions", json={"url": url, "event_types": list(event_types)})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries_of(api, **params) -> list[dict]:
    response = await api.get("/v1/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_an_event_arrives_signed(env, institution, receiver):
    """Latency is measured by `make bench` (submit → signed webhook); here, that it arrives and how."""
    subscription = await subscribe(institution.api, receiver.url)
    event = complaint_submitted(institution.id)
    await env.publish(event)

    [request] = await eventually(lambda: receiver.for_event(event.id), timeout=10, interval=0.01)
    headers, body = request["headers"], request["body"]
    assert verify(subscription["secret"], headers, body)
    assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, body)
    assert headers["webhook-id"] == event.id
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 30
    # Structured-mode CloudEvent (HTTP binding, §3.2).
    assert headers["content-type"] == "application/cloudevents+json"
    assert json.loads(body) == event.structured()
    assert "concerns" not in json.loads(body)

    [delivery] = await eventually(lambda: _delivered(institution.api, subscription["id"]), timeout=5)
    assert delivery["event_id"] == event.id and delivery["attempt_count"] == 1
    detail = (await institution.api.get(f"/v1/deliveries/{delivery['id']}")).json()
    assert [(a["number"], a["status_code"], a["error"]) for a in detail["attempts"]] == [(1, 204, None)]


async def _delivered(api, subscription_id):
    items = await deliveries_of(api, subscription_id=subscription_id, state="delivered")
    return items or None


async def test_only_matching_types_and_concerned_institutions_receive(env, institution, receiver):
    await subscribe(institution.api, receiver.url, event_types=["comitas.complaint.assessed"])
    other_id = env.new_institution()
    async with env.client(other_id) as other:
        await subscribe(other, receiver.url, event_types=["*"])
    owner_event = complaint_submitted(institution.id)  # institution's, but a type it did not ask for
    shared = complaint_submitted(env.new_institution(), concerns=(other_id, institution.id))
    await env.publish(owner_event)
    await env.publish(shared)
    await eventually(lambda: receiver.for_event(shared.id), timeout=5)
    await asyncio.sleep(0.5)
    assert receiver.for_event(owner_event.id) == []
    assert len(receiver.for_event(shared.id)) == 1  # only `other` asked for complaint.submitted


async def test_internal_events_never_leave(env, institution, receiver):
    await subscribe(institution.api, receiver.url, event_types=["*"])
    revoked = TOKEN_REVOKED.build(source="/comitas/identity", subject=None, institution_id=institution.id,
                                  time=datetime.now(UTC), data=TokenRevoked(jti="j", expires_at=datetime.now(UTC),
                                                                            client_id="c"))
    probe = complaint_submitted(institution.id)
    await env.publish(revoked)
    await env.publish(probe)
    await eventually(lambda: receiver.for_event(probe.id), timeout=5)
    assert receiver.for_event(revoked.id) == []


async def test_a_receiver_down_for_a_while_gets_the_event_on_a_retry(env, institution, receiver):
    receiver.plan = [503, 500]
    subscription = await subscribe(institution.api, receiver.url)
    event = complaint_submitted(institution.id)
    await env.publish(event)
    [delivery] = await eventually(lambda: _delivered(institution.api, subscription["id"]), timeout=10)
    assert [r["status"] for r in receiver.for_event(event.id)] == [503, 500, 204]
    ids = {r["headers"]["webhook-id"] for r in receiver.for_event(event.id)}
    assert ids == {event.id}  # stable across retries, so the receiver can deduplicate
    detail = (await institution.api.get(f"/v1/deliveries/{delivery['id']}")).json()
    assert [a["status_code"] for a in detail["attempts"]] == [503, 500, 204]
    assert detail["attempts"][0]["error"] == "the receiver answered 503"
    assert detail["state"] == "delivered" and detail["last_error"] is None


async def test_never_up_is_dead_after_max_attempts_then_redelivered(env, institution, unstarted_receiver):
    receiver = unstarted_receiver
    subscription = await subscribe(institution.api, receiver.url)
    event = complaint_submitted(institution.id)
    await env.publish(event)

    async def dead():
        return await deliveries_of(institution.api, subscription_id=subscription["id"], state="dead") or None

    [delivery] = await eventually(dead, timeout=15)
    detail = (await institution.api.get(f"/v1/deliveries/{delivery['id']}")).json()
    assert len(detail["attempts"]) == 4  # webhook_max_attempts in the fixture
    assert all(a["status_code"] is None and a["error"] for a in detail["attempts"])
    assert detail["next_attempt_at"] is None

    await receiver.served.start()
    redelivered = await institution.api.post(f"/v1/deliveries/{delivery['id']}/redeliver")
    assert redelivered.status_code == 200, redelivered.text
    assert redelivered.json()["state"] == "pending" and len(redelivered.json()["attempts"]) == 4
    [request] = await eventually(lambda: receiver.for_event(event.id), timeout=5)
    assert verify(subscription["secret"], request["headers"], request["body"])

    async def delivered_detail():
        body = (await institution.api.get(f"/v1/deliveries/{delivery['id']}")).json()
        return body if body["state"] == "delivered" else None

    final = await eventually(delivered_detail, timeout=5)
    assert [a["number"] for a in final["attempts"]] == [1, 2, 3, 4, 5]
    assert final["attempts"][-1]["status_code"] == 204

    # A delivered one may be sent again too.
    again = await institution.api.post(f"/v1/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 200
    await eventually(lambda: len(receiver.for_event(event.id)) == 2, timeout=5)


async def test_redeliver_a_pending_delivery_is_a_conflict(env, institution, receiver, paused_worker):
    subscription = await subscribe(institution.api, receiver.url)
    await env.publish(complaint_submitted(institution.id))

    async def pending():
        return await deliveries_of(institution.api, subscription_id=subscription["id"], state="pending") or None

    [delivery] = await eventually(pending, timeout=5)
    response = await institution.api.post(f"/v1/deliveries/{delivery['id']}/redeliver")
    assert response.status_code == 409
    assert response.json()["type"].endswith("delivery-not-redeliverable")


async def test_the_same_nats_message_twice_makes_one_delivery(env, institution, receiver):
    subscription = await subscribe(institution.api, receiver.url)
    event = complaint_submitted(institution.id)
    await env.publish(event)
    # The same event again under another Nats-Msg-Id, so JetStream stores it twice (as a relay that
    # crashed after publishing and lost its duplicate window would): the inbox must absorb it.
    await env.publish(event, msg_id=f"{event.id}-again")
    probe = complaint_submitted(institution.id)
    await env.publish(probe)
    await eventually(lambda: receiver.for_event(probe.id), timeout=5)
    await asyncio.sleep(0.3)
    assert len(receiver.for_event(event.id)) == 1
    items = await deliveries_of(institution.api, subscription_id=subscription["id"])
    assert sorted(d["event_id"] for d in items) == sorted([event.id, probe.id])


async def test_deliveries_are_filtered_paged_and_private_to_their_institution(env, institution, receiver):
    first = await subscribe(institution.api, receiver.url)
    second = await subscribe(institution.api, receiver.url)
    events = [complaint_submitted(institution.id) for _ in range(3)]
    for event in events:
        await env.publish(event)
    await eventually(lambda: all(len(receiver.for_event(e.id)) == 2 for e in events), timeout=5)

    only_first = await deliveries_of(institution.api, subscription_id=first["id"])
    assert len(only_first) == 3 and {d["subscription_id"] for d in only_first} == {first["id"]}
    page = (await institution.api.get("/v1/deliveries", params={"limit": 4})).json()
    assert len(page["items"]) == 4 and page["next_cursor"]
    rest = (await institution.api.get("/v1/deliveries", params={"limit": 4, "cursor": page["next_cursor"]})).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert await deliveries_of(institution.api, state="dead") == []
    assert (await institution.api.get("/v1/deliveries", params={"state": "lost"})).status_code == 422

    delivery_id = only_first[0]["id"]
    async with env.client(env.new_institution()) as other:
        assert (await other.get(f"/v1/deliveries/{delivery_id}")).status_code == 404
        assert (await other.post(f"/v1/deliveries/{delivery_id}/redeliver")).status_code == 404
        assert (await other.get("/v1/deliveries")).json()["items"] == []
        assert (await other.get("/v1/deliveries", params={"subscription_id": second["id"]})).json()["items"] == []


async def test_deleting_a_subscription_cancels_what_it_had_pending(env, institution, receiver, paused_worker):
    subscription = await subscribe(institution.api, receiver.url)
    event = complaint_submitted(institution.id)
    await env.publish(event)

    async def pending():
        return await deliveries_of(institution.api, subscription_id=subscription["id"], state="pending") or None

    [delivery] = await eventually(pending, timeout=5)
    assert (await institution.api.delete(f"/v1/subscriptions/{subscription['id']}")).status_code == 204
    cancelled = (await institution.api.get(f"/v1/deliveries/{delivery['id']}")).json()
    assert cancelled["state"] == "cancelled" and cancelled["next_attempt_at"] is None
    response = await institution.api.post(f"/v1/deliveries/{delivery['id']}/redeliver")
    assert response.status_code == 409

    paused_worker.start()
    probe_subscription = await subscribe(institution.api, receiver.url)
    probe = complaint_submitted(institution.id)
    await env.publish(probe)
    await eventually(lambda: receiver.for_event(probe.id), timeout=5)
    assert receiver.for_event(event.id) == []
    assert probe_subscription["id"] != subscription["id"]


async def test_the_worker_retries_on_its_own_clock(env, institution, receiver, paused_worker):
    """Driven through ``run_once(now)`` with a pinned clock: a failed attempt is retried only once the
    clock has passed the backoff, and the attempt times are the clock's, not the wall's."""
    from comitas_notifications.deliveries.worker import DeliveryWorker
    from comitas_shared.clock import FixedClock

    subscription = await subscribe(institution.api, receiver.url)
    event = complaint_submitted(institution.id)
    await env.publish(event)

    async def pending():
        return await deliveries_of(institution.api, subscription_id=subscription["id"], state="pending") or None

    [delivery] = await eventually(pending, timeout=5)
    clock = FixedClock(datetime.now(UTC) + timedelta(minutes=1))
    worker = DeliveryWorker(database=paused_worker.database, settings=paused_worker.settings,
                            secrets=paused_worker.secrets, clock=clock, draw=lambda: 1.0)
    try:
        receiver.plan = [503]
        assert await worker.run_once(clock()) == 1
        failed = (await institution.api.get(f"/v1/deliveries/{delivery['id']}")).json()
        assert failed["state"] == "pending" and failed["attempts"][0]["status_code"] == 503
        retry_at = datetime.fromisoformat(failed["next_attempt_at"])
        assert retry_at == clock() + timedelta(seconds=paused_worker.settings.webhook_retry_base_seconds)
        assert datetime.fromisoformat(failed["attempts"][0]["attempted_at"]) == clock()

        assert await worker.run_once(clock()) == 0  # not due yet on this clock
        clock.set(retry_at)
        assert await worker.run_once(clock()) == 1
        done = (await institution.api.get(f"/v1/deliveries/{delivery['id']}")).json()
        assert done["state"] == "delivered" and len(done["attempts"]) == 2
        assert len(receiver.for_event(event.id)) == 2
    finally:
        await worker.close()


async def _one_pending(institution, subscription_id: str) -> dict:
    async def pending():
        return await deliveries_of(institution.api, subscription_id=subscription_id, state="pending") or None

    [delivery] = await eventually(pending, timeout=5)
    return delivery


def _worker_like(template, **settings):
    from comitas_notifications.deliveries.worker import DeliveryWorker

    return DeliveryWorker(database=template.database, settings=template.settings.model_copy(update=settings),
                          secrets=template.secrets)


async def test_a_slow_receiver_keeps_its_lease_while_the_request_is_in_flight(env, institution, receiver,
                                                                           paused_worker):
    """The lease (1 s here) is renewed while the request runs (3 s), so another replica's pass in the
    middle finds nothing to take, and the receiver gets the event once."""
    subscription = await subscribe(institution.api, receiver.url)
    event = complaint_submitted(institution.id)
    await env.publish(event)
    delivery = await _one_pending(institution, subscription["id"])
    receiver.delay = 3.0
    first = _worker_like(paused_worker, webhook_lease_seconds=1.0, webhook_timeout_seconds=5.0)
    second = _worker_like(paused_worker, webhook_lease_seconds=1.0)
    try:
        first.start()
        await asyncio.sleep(2.0)  # two lease periods into the request
        assert await second.run_once(datetime.now(UTC)) == 0
        done = await eventually(lambda: _state_is(institution, delivery["id"], "delivered"), timeout=10)
        assert len(done["attempts"]) == 1 and done["attempts"][0]["status_code"] == 204
        assert len(receiver.for_event(event.id)) == 1
    finally:
        await first.close()
        await second.close()


async def _state_is(institution, delivery_id: str, state: str) -> dict | None:
    detail = (await institution.api.get(f"/v1/deliveries/{delivery_id}")).json()
    return detail if detail["state"] == state else None


async def test_a_stopped_worker_gives_its_leases_back_and_the_next_one_knows(env, institution, receiver,
                                                                          paused_worker):
    """Stopped mid-request, the worker releases its lease at once (no wait for it to lapse); the next
    worker takes the delivery straight away, records the interrupted attempt as of unknown outcome,
    and sends the event again with the same ``webhook-id``."""
    subscription = await subscribe(institution.api, receiver.url)
    event = complaint_submitted(institution.id)
    await env.publish(event)
    delivery = await _one_pending(institution, subscription["id"])
    receiver.delay = 1.5
    first = _worker_like(paused_worker, webhook_lease_seconds=60.0)
    first.start()
    await eventually(lambda: _attempt_under_way(institution, delivery["id"]), timeout=5)
    await first.close()
    receiver.delay = 0.0

    successor = _worker_like(paused_worker, webhook_lease_seconds=60.0)
    try:
        assert await successor.run_once(datetime.now(UTC)) == 1
    finally:
        await successor.close()
    done = (await institution.api.get(f"/v1/deliveries/{delivery['id']}")).json()
    assert done["state"] == "delivered"
    interrupted, completed = done["attempts"]
    assert interrupted["status_code"] is None and "outcome unknown" in interrupted["error"]
    assert completed["status_code"] == 204
    await eventually(lambda: len(receiver.for_event(event.id)) == 2 or None, timeout=5)
    assert {r["headers"]["webhook-id"] for r in receiver.for_event(event.id)} == {event.id}


async def _attempt_under_way(institution, delivery_id: str) -> bool:
    detail = (await institution.api.get(f"/v1/deliveries/{delivery_id}")).json()
    return len(detail["attempts"]) == 1
