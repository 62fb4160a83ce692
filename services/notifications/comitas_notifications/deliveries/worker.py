"""Sends pending deliveries on their channel (webhook, e-mail), with retries, in every replica at once.

Each pass leases due deliveries (``locked_until``/``locked_by``), sends them concurrently, and
records each attempt in a transaction of its own. What a channel does is only to prepare and send
(``channels.py``): leases, the attempt log, backoff, dead letters and redelivery are the same for all.
Delivery is at least once; three things keep the "twice" rare and short:

- leases are short and renewed while a request is in flight, so a slow receiver keeps its delivery
  and a dead worker's leases lapse within one lease period (not minutes);
- on shutdown the worker gives its leases back, so another replica starts at once;
- an attempt is recorded (unfinished) before the request goes out, so the worker that takes over after
  a crash counts it and logs that its outcome is unknown.

A receiver may still see a delivery twice, with the same ``webhook-id`` (webhooks: what Standard
Webhooks receivers deduplicate on) or the same ``Message-ID`` (e-mail).

A digest is a delivery due at the end of its period; its first attempt seals it (no more events join),
so every retry sends the same message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.auth import InstitutionId
from comitas_shared.clock import Clock, real_now
from comitas_shared.db import Database
from comitas_shared.events.envelope import new_event_id
from comitas_shared.tasks import cancel_and_wait

from ..settings import NotificationsSettings
from ..signing_secrets import SecretBox
from ..subscriptions import service as subscriptions
from ..webhook_targets import Resolver, system_resolver
from . import repository, service
from .channels import ChannelSender, Outcome, Unsendable
from .domain import DeliveryState, after_attempt, retry_delay
from .email_channel import EmailChannel
from .models import DeliveryAttempt
from .repository import Claimed
from .webhook import WebhookChannel

log = logging.getLogger(__name__)

# What an attempt's log and the delivery keep of an error (channels may say more).
MAX_ERROR_LENGTH = 500


def default_channels(settings: NotificationsSettings, resolver: Resolver) -> dict[str, ChannelSender]:
    channels: list[ChannelSender] = [WebhookChannel(settings, resolver=resolver), EmailChannel(settings)]
    return {channel.name: channel for channel in channels}


class DeliveryWorker:
    def __init__(self, *, database: Database, settings: NotificationsSettings, secrets: SecretBox,
                 resolver: Resolver = system_resolver, clock: Clock = real_now,
                 draw: Callable[[], float] = lambda: randomness.uniform(0.0, 1.0),
                 channels: Mapping[str, ChannelSender] | None = None) -> None:
        self.database = database
        self.clock = clock
        self.settings = settings
        self.secrets = secrets
        self.resolver = resolver
        self.draw = draw
        self.channels = dict(channels) if channels is not None else default_channels(settings, resolver)
        self.token = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._next_due: datetime | None = None
        # Deliveries whose request is in flight: their leases are renewed until the outcome is written.
        self._held: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="delivery-worker")
        self._renewer = asyncio.create_task(self._renew_forever(), name="delivery-lease-renewal")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await cancel_and_wait(self._renewer)
        self._task = self._renewer = None
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        try:
            async with self.database.transaction() as session:
                released = await repository.release_leases(session, token=self.token)
            if released:
                log.info("delivery worker: gave back %s leases on shutdown", released)
        except Exception:  # noqa: BLE001 - the leases then lapse on their own
            log.exception("delivery worker: could not give back its leases")
        for channel in self.channels.values():
            await channel.close()

    async def _run(self) -> None:
        while True:
            capacity = self.settings.webhook_concurrency - len(self._running)
            self._wake.clear()
            if capacity > 0:
                try:
                    for claimed in await self._claim(capacity, self.clock()):
                        task = asyncio.create_task(self._attempt(claimed), name=f"delivery-{claimed.delivery_id}")
                        self._running.add(task)
                        task.add_done_callback(self._running.discard)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the worker must outlive a failed pass
                    log.exception("delivery worker: claiming failed")
            await self._sleep()

    async def _renew_forever(self) -> None:
        interval = self.settings.webhook_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            if not self._held:
                continue
            try:
                lease_until = self.clock() + timedelta(seconds=self.settings.webhook_lease_seconds)
                async with self.database.transaction() as session:
                    await repository.renew_leases(session, token=self.token, delivery_ids=sorted(self._held),
                                                  lease_until=lease_until)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next round tries again before the lease lapses
                log.exception("delivery worker: renewing leases failed")

    async def _sleep(self) -> None:
        timeout = self.settings.webhook_poll_seconds
        has_capacity = len(self._running) < self.settings.webhook_concurrency
        if self._next_due is not None and has_capacity:
            timeout = min(timeout, max(0.0, (self._next_due - self.clock()).total_seconds()))
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._wake.wait()), *self._running}
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                if waiter not in self._running:
                    waiter.cancel()

    async def run_once(self, now: datetime) -> int:
        """One pass as of ``now``, without the loop: claims what is due and attempts it, and returns how
        many were attempted. Tests drive the worker through this with a clock of their own."""
        claimed = await self._claim(self.settings.webhook_concurrency, now)
        await asyncio.gather(*(self._attempt(c) for c in claimed))
        return len(claimed)

    async def close(self) -> None:
        """Stops the loop (if started) and closes the channels' connections."""
        await self.stop()

    async def _claim(self, limit: int, now: datetime) -> list[Claimed]:
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
            log.exception("delivery worker: attempt on %s failed", claimed.delivery_id)

    async def attempt(self, institution_id: InstitutionId, delivery_id: str) -> None:
        async with self.database.transaction() as session:
            delivery = await repository.get(session, institution_id, delivery_id)
            if delivery is None or delivery.locked_by != self.token:
                return
            target = await subscriptions.delivery_target(session, self.secrets, institution_id=institution_id,
                                                         subscription_id=delivery.subscription_id)
            channel = self.channels.get(delivery.channel)
            if target is None or channel is None or target.channel != delivery.channel:
                await self._give_up(session, institution_id, delivery_id, DeliveryState.CANCELLED,
                                    "the subscription was deleted" if target is None
                                    else f"no {delivery.channel} channel for this subscription")
                return
            job = await service.load_job(session, delivery, target, seal_at=self.clock())
            if not job.events:
                await self._give_up(session, institution_id, delivery_id, DeliveryState.CANCELLED,
                                    "nothing to send: the digest gathered no event")
                return
            prepared = await channel.prepare(session, job)
            logged = await repository.attempts(session, institution_id, delivery_id)
            # Attempts a crashed worker left unfinished: the receiver may have them. They count.
            orphaned = [row for row in logged if not row.finished]
            for row in orphaned:
                row.finished = True
                row.error = "outcome unknown: the worker stopped during this attempt"
            attempt_count = delivery.attempt_count + len(orphaned)
            attempt_row = DeliveryAttempt(
                id=new_event_id(), delivery_id=delivery_id, institution_id=institution_id, number=len(logged) + 1,
                attempted_at=self.clock(), status_code=None, error=None, duration_ms=0, finished=False)
            await repository.add_attempt(session, attempt_row)

        started = time.monotonic()
        if isinstance(prepared, Unsendable):
            outcome = Outcome(succeeded=False, error=prepared.error, permanent=prepared.permanent)
        else:
            self._held.add(delivery_id)
            try:
                outcome = await channel.send(prepared)
            finally:
                self._held.discard(delivery_id)
        duration_ms = int((time.monotonic() - started) * 1000)
        await self._record(institution_id, delivery_id, attempt_row.id, attempt_count, outcome, duration_ms)

    async def _give_up(self, session: AsyncSession, institution_id: InstitutionId, delivery_id: str,
                       state: DeliveryState, why: str) -> None:
        await repository.finish_attempt(session, institution_id, delivery_id, token=self.token, values={
            "state": state, "next_attempt_at": None, "updated_at": self.clock(), "last_error": why})

    async def _record(self, institution_id: InstitutionId, delivery_id: str, attempt_id: str, attempt_count: int,
                      outcome: Outcome, duration_ms: int) -> None:
        now = self.clock()
        delay = retry_delay(attempt_count + 1, base=self.settings.webhook_retry_base_seconds,
                            cap=self.settings.webhook_retry_max_seconds, draw=self.draw())
        after = after_attempt(attempt_count=attempt_count, succeeded=outcome.succeeded, permanent=outcome.permanent,
                              max_attempts=self.settings.webhook_max_attempts, now=now, delay_seconds=delay)
        error = None if outcome.error is None else outcome.error[:MAX_ERROR_LENGTH]
        async with self.database.transaction() as session:
            await repository.record_outcome(session, institution_id, attempt_id, status_code=outcome.status_code,
                                            error=error, duration_ms=duration_ms)
            await repository.finish_attempt(session, institution_id, delivery_id, token=self.token, values={
                "state": after.state, "attempt_count": after.attempt_count,
                "next_attempt_at": after.next_attempt_at, "delivered_at": after.delivered_at,
                "last_status_code": outcome.status_code, "last_error": None if outcome.succeeded else error,
                "updated_at": now})
        if after.next_attempt_at is not None and (self._next_due is None or after.next_attempt_at < self._next_due):
            self._next_due = after.next_attempt_at
