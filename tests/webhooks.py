"""What a subscriber does with what Comitas sends, using the standards' own libraries rather than our
code: Standard Webhooks' ``standardwebhooks`` verifies signatures, the CNCF ``cloudevents`` SDK reads
events (structured mode from a webhook, binary mode from NATS headers)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import nats
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_binary, from_http
from cloudevents.core.formats.json import JSONFormat
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from standardwebhooks import Webhook, WebhookVerificationError

from comitas_shared.events.envelope import decode_header_value


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Standard Webhooks verification (signature and the library's 5-minute timestamp window)."""
    try:
        Webhook(secret).verify(body, dict(headers))
    except WebhookVerificationError:
        return False
    return True


def verified_payload(secret: str, delivery: Mapping[str, Any]) -> Any:
    """The parsed body of a received delivery, or the library's exception when it does not verify."""
    return Webhook(secret).verify(delivery["body"], dict(delivery["headers"]))


def cloudevent_from_webhook(delivery: Mapping[str, Any]) -> BaseCloudEvent:
    """The SDK's HTTP binding picks the mode itself: no ``ce-`` header means structured mode."""
    return from_http(HTTPMessage(headers=dict(delivery["headers"]), body=delivery["body"]), JSONFormat())


def cloudevent_from_nats(headers: Mapping[str, str], data: bytes) -> BaseCloudEvent:
    """Binary mode. The SDK has no NATS binding; the draft NATS binding maps attributes to ``ce-`` headers
    exactly as the HTTP binding does (``datacontenttype`` included, as ``ce-datacontenttype``), so the
    HTTP binding's binary reader decodes a NATS message."""
    return from_binary(HTTPMessage(headers=dict(headers), body=data), JSONFormat())


async def nats_messages(nats_url: str, subject: str, *, stream: str = "EVENTS",
                        since: datetime | None = None) -> list[tuple[dict[str, str], bytes]]:
    """Every message on ``subject`` in ``stream`` so far (or stored since ``since``: late in a session the
    stream holds thousands), as (headers, data), read with an ephemeral consumer that acks nothing, so no
    service's consumer is disturbed."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=30)
        if since is not None:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, ack_policy=AckPolicy.NONE,
                                    inactive_threshold=30,
                                    opt_start_time=since.astimezone(UTC))
        subscription = await js.pull_subscribe(subject, durable=None, stream=stream, config=config)
        found: list[tuple[dict[str, str], bytes]] = []
        while (pending := (await subscription.consumer_info()).num_pending) > 0:
            for message in await subscription.fetch(min(pending, 256), timeout=2):
                found.append((dict(message.headers or {}), message.data))
        await subscription.unsubscribe()
        return found
    finally:
        await nc.close()


async def nats_message_about(nats_url: str, subject: str, record_id: str,
                             since: datetime | None = None) -> tuple[dict[str, str], bytes] | None:
    """The message on ``subject`` whose ``ce-subject`` is ``record_id``, if it has been published (since
    ``since``, when given)."""
    for headers, data in await nats_messages(nats_url, subject, since=since):
        if decode_header_value(headers.get("ce-subject", "")) == record_id:
            return headers, data
    return None
