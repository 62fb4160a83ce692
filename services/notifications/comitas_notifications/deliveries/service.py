"""Deliveries: created from events (one per event, or gathered into a daily digest), read and
redelivered through the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.errors import Conflict, NotFound
from comitas_shared.events.envelope import CloudEvent, new_event_id
from comitas_shared.pagination import Page, PageRequest

from ..digests import service as digests
from ..directory import service as directory
from ..feeds import service as feeds
from ..signing_secrets import SecretBox
from ..subscriptions import service as subscriptions
from . import repository
from .channels import Job, Period, Unsendable
from .domain import Channel, DeliveryKind, DeliveryState, can_redeliver
from .email_channel import EmailChannel, Mail, compose
from .models import Delivery
from .schemas import AttemptOut, DeliveryDetail, DeliveryOut, DigestOut, MessagePreview

# Set on a session that created or reset deliveries: after its commit the worker is woken at once.
WAKE_WORKER = "comitas_notifications_wake_worker"
DIGEST_TYPE = "digest"


@dataclass(frozen=True)
class DigestPolicy:
    """When digests are sent: at ``hour`` local (a subscription may name its own), in the institution's
    time zone from the directory, ``time_zone`` when it has none."""

    hour: int = 8
    time_zone: str = "UTC"


@dataclass(frozen=True)
class BatchReads:
    """What the fan-out reads once for a batch of events rather than once per event: the live
    subscriptions of every institution they concern, and the time zones digests are cut in (kept as
    they are read)."""

    subscriptions: subscriptions.LiveSubscriptions
    time_zones: dict[str, str] = field(default_factory=dict)


async def read_for_batch(session: AsyncSession, events: Sequence[CloudEvent]) -> BatchReads:
    concerned = {institution_id_for_system(institution) for event in events if feeds.on_feeds(event.type)
                 for institution in event.concerned_institutions}
    return BatchReads(await subscriptions.live_of_each(session, institution_ids=concerned))


async def enqueue_for_event(session: AsyncSession, event: CloudEvent, *, traceparent: str | None,
                            now: datetime, digest: DigestPolicy | None = None,
                            batch: BatchReads | None = None) -> int:
    """For each institution the event concerns, each live subscription that wants it (type, case,
    urgency) gets a pending delivery, or the event joins the subscription's digest of the day. Returns
    how many deliveries were created or joined. ``batch``: what was read for the batch it is part of."""
    # Institutions receive by webhook and e-mail the types their feeds carry, and no other.
    if not feeds.on_feeds(event.type):
        return 0
    policy = digest or DigestPolicy()
    envelope = event.to_record()
    created = 0
    for concerned in dict.fromkeys(event.concerned_institutions):
        institution_id = institution_id_for_system(concerned)
        for matched in await subscriptions.matching(session, institution_id=institution_id, event_type=event.type,
                                                    subject=event.subject, data=event.data,
                                                    live=batch.subscriptions if batch is not None else None):
            if matched.delivery_mode == "daily_digest":
                await _gather(session, institution_id, matched, event, traceparent=traceparent, now=now,
                              policy=policy, batch=batch)
            else:
                await repository.add(session, Delivery(
                    id=new_event_id(), institution_id=institution_id, subscription_id=matched.id,
                    channel=matched.channel, kind=DeliveryKind.EVENT, event_id=event.id, event_type=event.type,
                    envelope=envelope, traceparent=traceparent, state=DeliveryState.PENDING, attempt_count=0,
                    next_attempt_at=now, created_at=now, updated_at=now,
                ))
            created += 1
    if created:
        session.info[WAKE_WORKER] = True
    return created


async def _gather(session: AsyncSession, institution_id: InstitutionId, matched: subscriptions.Matched,
                  event: CloudEvent, *, traceparent: str | None, now: datetime, policy: DigestPolicy,
                  batch: BatchReads | None) -> None:
    """Adds the event to the digest of the period under way, created if this is its first event. A digest
    whose sending has started takes no more: the event goes to the next period's."""
    hour = policy.hour if matched.digest_hour is None else matched.digest_hour
    zone = batch.time_zones.get(institution_id) if batch is not None else None
    if zone is None:
        zone = await directory.time_zone(session, institution_id=institution_id, default=policy.time_zone)
        if batch is not None:
            batch.time_zones[institution_id] = zone
    window = digests.window_containing(now, time_zone=zone, hour=hour)
    while True:
        delivery = await repository.find(session, institution_id, matched.id, window.key)
        if delivery is None:
            delivery = Delivery(
                id=new_event_id(), institution_id=institution_id, subscription_id=matched.id,
                channel=matched.channel, kind=DeliveryKind.DIGEST, event_id=window.key, event_type=DIGEST_TYPE,
                envelope={"start": window.start.isoformat(), "end": window.end.isoformat(),
                          "time_zone": window.time_zone},
                traceparent=traceparent, state=DeliveryState.PENDING, attempt_count=0,
                next_attempt_at=window.end, created_at=now, updated_at=now)
            await repository.add(session, delivery)
            break
        if await repository.hold_open_digest(session, institution_id, delivery.id, now):
            break
        window = digests.following(window, hour=hour)
    await digests.add_event(session, institution_id=institution_id, delivery_id=delivery.id, event=event, now=now)


def to_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery, from_attributes=True)


async def list_page(session: AsyncSession, *, institution_id: InstitutionId, page: PageRequest,
                    state: DeliveryState | None, subscription_id: str | None, channel: Channel | None = None,
                    kind: DeliveryKind | None = None) -> Page[DeliveryOut]:
    rows = await repository.list_page(session, institution_id, page, state=state, subscription_id=subscription_id,
                                      channel=channel, kind=kind)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


async def get(session: AsyncSession, *, institution_id: InstitutionId, delivery_id: str) -> DeliveryDetail:
    delivery = await repository.get(session, institution_id, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    return await _detail(session, institution_id, delivery)


async def _detail(session: AsyncSession, institution_id: InstitutionId, delivery: Delivery) -> DeliveryDetail:
    attempts = await repository.attempts(session, institution_id, delivery.id)
    digest = None
    if delivery.kind == DeliveryKind.DIGEST:
        events = await digests.events_of(session, institution_id=institution_id, delivery_id=delivery.id)
        digest = DigestOut(period_start=datetime.fromisoformat(delivery.envelope["start"]),
                           period_end=datetime.fromisoformat(delivery.envelope["end"]),
                           time_zone=str(delivery.envelope["time_zone"]), event_ids=[e.id for e in events],
                           sealed_at=delivery.sealed_at)
    return DeliveryDetail(**to_out(delivery).model_dump(),
                          attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
                          digest=digest)


async def redeliver(session: AsyncSession, *, institution_id: InstitutionId, delivery_id: str,
                    now: datetime) -> DeliveryDetail:
    delivery = await repository.get(session, institution_id, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    if not can_redeliver(delivery.state):
        raise Conflict(f"a {delivery.state} delivery cannot be redelivered", slug="delivery-not-redeliverable",
                       title="Delivery not redeliverable", state=delivery.state)
    if not await subscriptions.exists(session, institution_id=institution_id,
                                      subscription_id=delivery.subscription_id):
        raise Conflict("the subscription of this delivery was deleted", slug="subscription-deleted",
                       title="Subscription deleted")
    delivery.state = DeliveryState.PENDING
    delivery.attempt_count = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    delivery.updated_at = now
    await session.flush()
    session.info[WAKE_WORKER] = True
    return await _detail(session, institution_id, delivery)


async def cancel_pending_for_subscription(session: AsyncSession, *, institution_id: InstitutionId,
                                          subscription_id: str, now: datetime) -> int:
    """A deleted subscription's queued deliveries are not sent any more; they stay listed as cancelled."""
    return await repository.cancel_pending_for_subscription(session, institution_id, subscription_id, now)


async def load_job(session: AsyncSession, delivery: Delivery, target: subscriptions.DeliveryTarget, *,
                   seal_at: datetime | None) -> Job:
    """What a channel needs to send a delivery. A digest is sealed first when ``seal_at`` is given (the
    worker's attempt), so an event being added either made it in (the seal waited for it) or goes to
    the next digest."""
    institution_id = InstitutionId(delivery.institution_id)
    period: Period | None = None
    if delivery.kind == DeliveryKind.DIGEST:
        if seal_at is not None:
            await repository.seal(session, institution_id, delivery.id, seal_at)
        events = await digests.events_of(session, institution_id=institution_id, delivery_id=delivery.id)
        envelope = delivery.envelope
        period = Period(start=datetime.fromisoformat(envelope["start"]), end=datetime.fromisoformat(envelope["end"]),
                        time_zone=str(envelope["time_zone"]))
    else:
        events = [CloudEvent.from_record(delivery.envelope)]
    return Job(delivery_id=delivery.id, institution_id=institution_id, subscription_id=delivery.subscription_id,
               kind=delivery.kind, events=events, period=period, traceparent=delivery.traceparent, target=target)


async def preview(session: AsyncSession, secrets: SecretBox, mailer: EmailChannel, *, institution_id: InstitutionId,
                  delivery_id: str) -> MessagePreview:
    """An e-mail delivery's message as it would be sent now: to check the language, the dates and the
    addresses without an SMTP server (development) or before a redelivery."""
    delivery = await repository.get(session, institution_id, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    if delivery.channel != Channel.EMAIL:
        raise Conflict("only e-mail deliveries have a message to preview", slug="not-an-email-delivery",
                       title="Not an e-mail delivery")
    target = await subscriptions.delivery_target(session, secrets, institution_id=institution_id,
                                                 subscription_id=delivery.subscription_id)
    if target is None:
        raise Conflict("the subscription of this delivery was deleted", slug="subscription-deleted",
                       title="Subscription deleted")
    job = await load_job(session, delivery, target, seal_at=None)
    recipient, addresses, why = await mailer.recipients(session, job)
    prepared = await mailer.prepare(session, job) if job.events else Unsendable("the digest gathered no event")
    if isinstance(prepared, Mail):
        composed = prepared.composed
    else:
        # The message shows even when it cannot be sent (no address yet): that is what it would say.
        composed = compose(job, recipient) if job.events else None
        why = why or prepared.error
    return MessagePreview(message_id=mailer.message_id(delivery.id), to=addresses,
                          language=recipient.language, subject=composed.subject if composed else "",
                          text=composed.text if composed else "", html=composed.html if composed else "",
                          undeliverable=why)

