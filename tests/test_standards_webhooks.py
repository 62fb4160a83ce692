"""Webhooks as Standard Webhooks receivers see them: every delivery verifies with the reference library
(``standardwebhooks``), and our own ``verify`` (the one the docs show) refuses what the library refuses,
stale or future timestamps included."""

from __future__ import annotations

import base64

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from comitas_notifications.deliveries.signing import (
    TIMESTAMP_TOLERANCE_SECONDS,
    sign,
    verify,
    webhook_headers,
)
from comitas_shared.clock import real_timestamp
from comitas_shared.events.envelope import STRUCTURED_CONTENT_TYPE
from comitas_shared.testing import eventually

from .webhooks import verified_payload

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
BODY = b'{"specversion":"1.0","id":"01a2","type":"comitas.complaint.submitted","data":{}}'


def library_accepts(secret: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@pytest.mark.parametrize("offset", [-3600, -TIMESTAMP_TOLERANCE_SECONDS - 5, -60, 0, 60,
                                    TIMESTAMP_TOLERANCE_SECONDS - 5, TIMESTAMP_TOLERANCE_SECONDS + 5, 3600])
def test_ours_and_the_library_agree_on_the_timestamp_window(offset):
    headers = webhook_headers(SECRET, "01a2", int(real_timestamp()) + offset, BODY)
    inside = abs(offset) < TIMESTAMP_TOLERANCE_SECONDS
    assert verify(SECRET, headers, BODY) is inside
    assert library_accepts(SECRET, headers, BODY) is inside


def test_ours_refuses_an_old_timestamp_even_with_a_valid_signature():
    sent_at = 1_700_000_000
    headers = webhook_headers(SECRET, "01a2", sent_at, BODY)
    assert verify(SECRET, headers, BODY, now=sent_at + 10)  # the signature itself is right
    assert not verify(SECRET, headers, BODY, now=sent_at + TIMESTAMP_TOLERANCE_SECONDS + 1)
    assert not verify(SECRET, headers, BODY)  # and it is years old by the wall clock


def test_ours_refuses_what_is_not_signed_with_the_secret():
    headers = webhook_headers(SECRET, "01a2", int(real_timestamp()), BODY)
    assert not verify(OTHER_SECRET, headers, BODY)
    assert not verify(SECRET, headers, BODY + b" ")
    assert not verify(SECRET, {**headers, "webhook-id": "01a3"}, BODY)
    assert not verify(SECRET, {k: v for k, v in headers.items() if k != "webhook-signature"}, BODY)
    assert not verify(SECRET, {**headers, "webhook-timestamp": "soon"}, BODY)
    # Several signatures (a secret being rotated): one valid one is enough, for us as for the library.
    both = {**headers, "webhook-signature": f"v1,{base64.b64encode(b'x' * 32).decode()} {headers['webhook-signature']}"}
    assert verify(SECRET, both, BODY) and library_accepts(SECRET, both, BODY)


async def test_every_delivery_verifies_with_the_reference_library(stack, webhook_receiver):
    institution = await stack.new_institution()
    async with await stack.client_for("notifications", institution) as notifications:
        created = await notifications.post("/v1/subscriptions", json={
            "event_types": ["comitas.complaint.submitted"], "url": webhook_receiver.url})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        async with await stack.client_for("intake", institution) as intake:
            submitted = await intake.post("/v1/complaints", json={"summary": "Held incommunicado for weeks.",
                                                                   "respondent_states": ["GR"]})
        assert submitted.status_code == 201, submitted.text
        complaint_id = submitted.json()["id"]
        await eventually(lambda: webhook_receiver.for_subject(complaint_id), timeout=10)

        async def delivered():
            items = (await notifications.get("/v1/deliveries", params={"state": "delivered"})).json()["items"]
            return items or None

        [delivery] = await eventually(delivered, timeout=5)
        redelivered = await notifications.post(f"/v1/deliveries/{delivery['id']}/redeliver")
        assert redelivered.status_code == 200, redelivered.text
        await eventually(lambda: len(webhook_receiver.for_subject(complaint_id)) == 2, timeout=10)

    received = webhook_receiver.for_subject(complaint_id)
    assert len({r["headers"]["webhook-id"] for r in received}) == 1  # a redelivery keeps the id
    for request in received:
        payload = verified_payload(secret, request)  # raises WebhookVerificationError if it does not verify
        assert payload["subject"] == complaint_id
        assert request["headers"]["content-type"] == STRUCTURED_CONTENT_TYPE
        assert verify(secret, request["headers"], request["body"])
        assert not library_accepts(OTHER_SECRET, request["headers"], request["body"])

    # The same request replayed later, re-signed for a stale time, is refused by both.
    request = received[0]
    stale = int(real_timestamp()) - TIMESTAMP_TOLERANCE_SECONDS - 60
    replay = {**request["headers"], "webhook-timestamp": str(stale),
              "webhook-signature": sign(secret, request["headers"]["webhook-id"], stale, request["body"])}
    assert not library_accepts(secret, replay, request["body"])
    assert not verify(secret, replay, request["body"])
