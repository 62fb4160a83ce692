"""Sends pending deliveries as Standard Webhooks requests, with retries, in every replica at once.

Each pass leases due deliveries (``locked_until``/``locked_by``), sends them concurrently, and
records each attempt in a transaction of its own. A replica that dies mid-attempt leaves a lease that
expires, and another replica takes the delivery over; the receiver may then see it twice, with the
same ``webhook-id``, which is what Standard Webhooks receivers deduplicate on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from comitas_shared.auth import InstitutionId
from comitas_shared.db import Database
from comitas_shared.events.envelope import CloudEvent, new_event_id
from comitas_shared.tasks import cancel_and_wait
from comitas_shared.telemetry import SpanKind, span_from_headers

from ..settings import NotificationsSettings
from ..subscriptions import repository as subscriptions
from ..subscriptions.secrets import SecretBox, binding_for
from ..subscriptions.targets import Resolver, TargetNotAllowed, check_target, system_resolver
from . import repository
from .domain import DeliveryState, after_attempt, is_success, retry_delay
from .models import DeliveryAttempt
from .repository import Claimed
from .signing import webhook_headers

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 500


class DeliveryWorker:
    def __init__(self, *, database: Database, settings: NotificationsSettings, secrets: SecretBox,
                 resolver: Resolver = system_resolver, draw: Callable[[], float] = random.random) -> None:
        self.database = database
        self.settings = settings
        self.secrets = secrets
        self.resolver = resolver
        self.draw = draw
        self.token = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._next_due: datetime | None = None

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        # Pinned connections (see targets.py) must not be reused for another host name behind the same
        # address, so keep-alive is off when targets are checked.
        keepalive = 20 if self.settings.allow_private_webhook_targets else 0
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.webhook_timeout_seconds), follow_redirects=False,
            trust_env=False, limits=httpx.Limits(max_keepalive_connections=keepalive),
            headers={"user-agent": "Comitas-Webhooks/1"})
        self._task = asyncio.create_task(self._run(), name="webhook-delivery-worker")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _run(self) -> None:
        while True:
            capacity = self.settings.webhook_concurrency - len(self._running)
            self._wake.clear()
            if capacity > 0:
                try:
                    for claimed in await self._claim(capacity):
                        task = asyncio.create_task(self._attempt(claimed), name=f"webhook-{claimed.delivery_id}")
                        self._running.add(task)
                        task.add_done_callback(self._running.discard)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the worker must outlive a failed pass
                    log.exception("webhook worker: claiming failed")
            await self._sleep()

    async def _sleep(self) -> None:
        timeout = self.settings.webhook_poll_seconds
        has_capacity = len(self._running) < self.settings.webhook_concurrency
        if self._next_due is not None and has_capacity:
            timeout = min(timeout, max(0.0, (self._next_due - datetime.now(UTC)).total_seconds()))
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._wake.wait()), *self._running}
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                if waiter not in self._running:
                    waiter.cancel()

    async def _claim(self, limit: int) -> list[Claimed]:
        now = datetime.now(UTC)
        lease_until = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        async with self.database.transaction() as session:
            claimed = await repository.claim_due(session, now=now, lease_until=lease_until, token=self.token,
                                                 limit=limit, skip_locked=not self.database.is_sqlite)
            self._next_due = await repository.next_due_at(session, after=now)
        return claimed

    async def _attempt(self, claimed: Claimed) -> None:
        try:
            await self.attempt(claimed.institution_id, claimed.delivery_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the lease expires and the delivery is tried again
            log.exception("webhook worker: attempt on %s failed", claimed.delivery_id)

    async def attempt(self, institution_id: InstitutionId, delivery_id: str) -> None:
        async with self.database.transaction() as session:
            delivery = await repository.get(session, institution_id, delivery_id)
            if delivery is None or delivery.locked_by != self.token:
                return
            subscription = await subscriptions.get(session, institution_id, delivery.subscription_id)
            if subscription is None:
                now = datetime.now(UTC)
                await repository.finish_attempt(session, institution_id, delivery_id, token=self.token, values={
                    "state": DeliveryState.CANCELLED, "next_attempt_at": None, "updated_at": now,
                    "last_error": "the subscription was deleted"})
                return
            secret = self.secrets.open(subscription.secret_ciphertext,
                                       binding=binding_for(institution_id, subscription.id))
            url, envelope, traceparent = subscription.url, delivery.envelope, delivery.traceparent
            attempt_count = delivery.attempt_count

        event = CloudEvent.from_record(envelope)
        body = json.dumps(event.structured(), separators=(",", ":"), ensure_ascii=False).encode()
        started_at = datetime.now(UTC)
        started = time.monotonic()
        status_code, error = await self._send(url, secret, event.id, body, traceparent)
        duration_ms = int((time.monotonic() - started) * 1000)

        now = datetime.now(UTC)
        succeeded = is_success(status_code)
        delay = retry_delay(attempt_count + 1, base=self.settings.webhook_retry_base_seconds,
                            cap=self.settings.webhook_retry_max_seconds, draw=self.draw())
        outcome = after_attempt(attempt_count=attempt_count, succeeded=succeeded,
                                max_attempts=self.settings.webhook_max_attempts, now=now, delay_seconds=delay)
        if error is None and not succeeded:
            error = f"the receiver answered {status_code}"
        async with self.database.transaction() as session:
            number = await repository.attempts_made(session, institution_id, delivery_id) + 1
            await repository.add_attempt(session, DeliveryAttempt(
                id=new_event_id(), delivery_id=delivery_id, institution_id=institution_id, number=number,
                attempted_at=started_at, status_code=status_code, error=error, duration_ms=duration_ms))
            await repository.finish_attempt(session, institution_id, delivery_id, token=self.token, values={
                "state": outcome.state, "attempt_count": outcome.attempt_count,
                "next_attempt_at": outcome.next_attempt_at, "delivered_at": outcome.delivered_at,
                "last_status_code": status_code, "last_error": None if succeeded else error, "updated_at": now})
        if outcome.next_attempt_at is not None and (self._next_due is None or outcome.next_attempt_at < self._next_due):
            self._next_due = outcome.next_attempt_at

    async def _send(self, url: str, secret: str, message_id: str, body: bytes,
                    traceparent: str | None) -> tuple[int | None, str | None]:
        """One attempt: check the target again (its DNS may have changed), sign, post. Returns the status
        code, or the error when no answer came. The span continues the trace of the event."""
        assert self._http is not None, "the worker is not started"
        carrier = {"traceparent": traceparent} if traceparent else {}
        with span_from_headers("webhook deliver", carrier, kind=SpanKind.INTERNAL,
                               attributes={"messaging.message.id": message_id}):
            try:
                target = await check_target(url, allow_private=self.settings.allow_private_webhook_targets,
                                            resolver=self.resolver)
            except TargetNotAllowed as exc:
                return None, f"target refused: {exc.detail}"[:MAX_ERROR_LENGTH]
            headers = {**webhook_headers(secret, message_id, int(time.time()), body), **target.headers()}
            try:
                # The whole exchange is bounded, not just each read: a receiver that drips its answer
                # byte by byte must not hold a worker slot for ever. The body of the answer is not read.
                async with asyncio.timeout(self.settings.webhook_timeout_seconds + 1):
                    async with self._http.stream("POST", target.request_url(), content=body, headers=headers,
                                                 extensions=target.extensions()) as response:
                        return response.status_code, None
            except (httpx.HTTPError, TimeoutError, OSError) as exc:
                return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
