"""The webhook channel: Standard Webhooks requests (ADR 0030).

One event: the structured CloudEvent, ``webhook-id`` = the event id. A digest: a JSON array of
structured CloudEvents (``application/cloudevents-batch+json``, the HTTP binding's batched mode),
``webhook-id`` = the delivery id (two subscriptions of one institution get different digests). Either id
is the same on every attempt and redelivery, which is what receivers deduplicate on.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.clock import real_timestamp
from comitas_shared.telemetry import SpanKind, span_from_headers

from ..settings import NotificationsSettings
from ..webhook_targets import Resolver, TargetNotAllowed, check_target, system_resolver
from .channels import Job, Outcome, Unsendable
from .domain import Channel, DeliveryKind, is_success
from .signing import webhook_headers

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    secret: str
    message_id: str
    body: bytes
    content_type: str | None
    traceparent: str | None


class WebhookChannel:
    name = Channel.WEBHOOK.value

    def __init__(self, settings: NotificationsSettings, *, resolver: Resolver = system_resolver) -> None:
        self.settings = settings
        self.resolver = resolver
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # Pinned connections (see webhook_targets.py) must not be reused for another host name
            # behind the same address, so keep-alive is off when targets are checked.
            keepalive = 20 if self.settings.allow_private_webhook_targets else 0
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.webhook_timeout_seconds), follow_redirects=False,
                trust_env=False, limits=httpx.Limits(max_keepalive_connections=keepalive),
                headers={"user-agent": "Comitas-Webhooks/1"})
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def prepare(self, session: AsyncSession, job: Job) -> WebhookRequest | Unsendable:
        target = job.target
        if target.url is None or target.secret is None:
            return Unsendable("the subscription has no webhook target", permanent=True)
        if job.kind == DeliveryKind.DIGEST:
            body: Any = [event.structured() for event in job.events]
            message_id, content_type = job.delivery_id, BATCH_CONTENT_TYPE
        else:
            [event] = job.events
            body, message_id, content_type = event.structured(), event.id, None
        encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return WebhookRequest(url=target.url, secret=target.secret, message_id=message_id, body=encoded,
                              content_type=content_type, traceparent=job.traceparent)

    async def send(self, prepared: WebhookRequest) -> Outcome:
        """One attempt: check the target again (its DNS may have changed), sign, post. The span continues
        the trace of the event."""
        http = self._client()
        carrier = {"traceparent": prepared.traceparent} if prepared.traceparent else {}
        with span_from_headers("webhook deliver", carrier, kind=SpanKind.INTERNAL,
                               attributes={"messaging.message.id": prepared.message_id}):
            try:
                target = await check_target(prepared.url, allow_private=self.settings.allow_private_webhook_targets,
                                            resolver=self.resolver)
            except TargetNotAllowed as exc:
                return Outcome(False, None, f"target refused: {exc.detail}")
            # Real time whatever the business clock says: receivers check it against their own clocks.
            headers = {**webhook_headers(prepared.secret, prepared.message_id, int(real_timestamp()), prepared.body,
                                         content_type=prepared.content_type), **target.headers()}
            try:
                # The whole exchange is bounded, not just each read: a receiver that drips its answer
                # byte by byte must not hold a worker slot for ever. The body of the answer is not read.
                async with asyncio.timeout(self.settings.webhook_timeout_seconds + 1):
                    async with http.stream("POST", target.request_url(), content=prepared.body, headers=headers,
                                           extensions=target.extensions()) as response:
                        status = response.status_code
            except (httpx.HTTPError, TimeoutError, OSError) as exc:
                return Outcome(False, None, f"{type(exc).__name__}: {exc}")
        if is_success(status):
            return Outcome(True, status)
        return Outcome(False, status, f"the receiver answered {status}")
