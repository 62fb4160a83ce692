"""Subscriptions: create (a webhook's secret shown once), read, list, change, delete; which of them want
an event, and where the delivery worker sends for one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.errors import NotFound, Unprocessable
from comitas_shared.events.catalogue import CATALOGUE
from comitas_shared.events.envelope import new_event_id
from comitas_shared.idempotency import Idempotency
from comitas_shared.pagination import Page, PageRequest

from ..deliveries import service as deliveries
from ..directory import service as directory
from ..feeds import service as feeds
from ..signing_secrets import SecretBox, binding_for, new_signing_secret
from ..webhook_targets import Resolver, check_target
from . import repository
from .domain import (
    DAILY_DIGEST,
    EMAIL,
    WEBHOOK,
    Interest,
    normalise_cases,
    normalise_event_types,
    wants,
)
from .models import Subscription
from .schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionOut, SubscriptionUpdate

CREATE_OPERATION = "subscriptions.create"
# Each institution's live subscriptions, read once for many events (see ``matching``).
LiveSubscriptions = Mapping[str, Sequence[Subscription]]


@dataclass(frozen=True)
class TargetPolicy:
    """How webhook targets are checked: private addresses only in development, resolved by ``resolver``."""

    allow_private: bool
    resolver: Resolver


@dataclass(frozen=True)
class DeliveryTarget:
    """What the delivery worker needs of a live subscription to send to it: a webhook's URL and secret,
    or an e-mail subscription's chosen address (None: the institution's addresses)."""

    channel: str
    url: str | None = None
    secret: str | None = None
    email_address: str | None = None


@dataclass(frozen=True)
class Matched:
    """A live subscription that wants an event, and how it wants it."""

    id: str
    channel: str
    delivery_mode: str
    digest_hour: int | None


def external_event_types() -> list[str]:
    return sorted(t for t in CATALOGUE if feeds.on_feeds(t))


def to_out(subscription: Subscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate({
        "id": subscription.id, "channel": subscription.channel, "url": subscription.url,
        "email_address": subscription.email_address, "event_types": list(subscription.event_types),
        "cases": None if subscription.cases is None else list(subscription.cases),
        "urgency": subscription.urgency, "delivery_mode": subscription.delivery_mode,
        "digest_hour": subscription.digest_hour, "description": subscription.description,
        "created_at": subscription.created_at, "updated_at": subscription.updated_at})


async def create(session: AsyncSession, idempotency: Idempotency, *, secrets: SecretBox, targets: TargetPolicy,
                 institution_id: InstitutionId, request: SubscriptionCreate, idempotency_key: str | None,
                 now: datetime) -> tuple[int, dict[str, Any]]:
    """Returns the status and body of the answer (201 and the subscription with its secret)."""
    body = request.model_dump(mode="json")
    async with idempotency.guard(session, institution_id=institution_id, operation=CREATE_OPERATION,
                                 key=idempotency_key, body=body) as call:
        if call.is_replay:
            return call.replay_status or 201, await _replayed(session, secrets, institution_id, call.replay_body)
        created = await _create(session, secrets, targets, institution_id=institution_id, request=request, now=now)
        answer = created.model_dump(mode="json")
        # The stored answer leaves the secret out: the idempotency table must not hold it in clear.
        Idempotency.remember(call, 201, {k: v for k, v in answer.items() if k != "secret"})
        return 201, answer


async def _create(session: AsyncSession, secrets: SecretBox, targets: TargetPolicy, *,
                  institution_id: InstitutionId, request: SubscriptionCreate, now: datetime) -> SubscriptionCreated:
    event_types = _checked_event_types(request.event_types)
    subscription_id = new_event_id()
    secret: str | None = None
    subscription = Subscription(
        id=subscription_id, institution_id=institution_id, channel=request.channel, event_types=event_types,
        cases=normalise_cases(request.cases), urgency=request.urgency, delivery_mode=request.delivery_mode,
        digest_hour=request.digest_hour, description=request.description, created_at=now)
    if request.channel == WEBHOOK:
        assert request.url is not None  # the schema requires it for webhooks
        await check_target(request.url, allow_private=targets.allow_private, resolver=targets.resolver)
        secret = new_signing_secret()
        subscription.url = request.url
        subscription.secret_ciphertext = secrets.seal(secret, binding=binding_for(institution_id, subscription_id))
    else:
        subscription.email_address = await _checked_address(session, institution_id, request.email_address)
    await repository.add(session, subscription)
    return SubscriptionCreated(**to_out(subscription).model_dump(), secret=secret)


def _checked_event_types(requested: list[str]) -> list[str]:
    event_types, unknown = normalise_event_types(requested, external_event_types())
    if unknown:
        raise Unprocessable(f"unknown event types: {', '.join(unknown)}", slug="unknown-event-type",
                            title="Unknown event type", unknown=unknown, known=external_event_types())
    return event_types


async def _checked_address(session: AsyncSession, institution_id: InstitutionId, address: str | None) -> str | None:
    """An e-mail subscription writes only to the institution's own notification addresses (never to an
    address typed in for someone else, such as a victim's): a chosen one must be in the directory."""
    if address is None:
        return None
    known = (await directory.contact(session, institution_id=institution_id)).addresses
    if not directory.address_allowed(address, known):
        raise Unprocessable("the address is not one of the institution's notification addresses in the "
                            "directory", slug="email-address-not-allowed", title="E-mail address not allowed",
                            allowed=list(known))
    return address.strip()


async def update(session: AsyncSession, *, targets: TargetPolicy, institution_id: InstitutionId,
                 subscription_id: str, request: SubscriptionUpdate, now: datetime) -> SubscriptionOut:
    """Changes what a subscription wants, and how. A digest already gathering events is still sent at its
    hour; the change applies to the events that come after it."""
    subscription = await repository.get(session, institution_id, subscription_id)
    if subscription is None:
        raise NotFound("no such subscription")
    changes = request.changes()
    if "url" in changes:
        if subscription.channel != WEBHOOK:
            raise Unprocessable("an e-mail subscription has no url", slug="wrong-channel-field")
        await check_target(changes["url"], allow_private=targets.allow_private, resolver=targets.resolver)
        subscription.url = changes["url"]
    if "email_address" in changes:
        if subscription.channel != EMAIL:
            raise Unprocessable("email_address is for e-mail subscriptions", slug="wrong-channel-field")
        subscription.email_address = await _checked_address(session, institution_id, changes["email_address"])
    if "event_types" in changes:
        subscription.event_types = _checked_event_types(changes["event_types"])
    if "cases" in changes:
        subscription.cases = normalise_cases(changes["cases"])
    for name in ("urgency", "delivery_mode", "description"):
        if name in changes:
            setattr(subscription, name, changes[name])
    if "digest_hour" in changes:
        subscription.digest_hour = changes["digest_hour"]
    if subscription.delivery_mode != DAILY_DIGEST:
        subscription.digest_hour = None
    subscription.updated_at = now
    await session.flush()
    return to_out(subscription)


async def _replayed(session: AsyncSession, secrets: SecretBox, institution_id: InstitutionId,
                    stored: dict[str, Any]) -> dict[str, Any]:
    """A retried creation gets the first answer again, secret included: the client that lost the first
    answer would otherwise hold a subscription it cannot verify."""
    subscription = await repository.get(session, institution_id, str(stored.get("id")))
    if subscription is None or subscription.secret_ciphertext is None:
        return stored
    secret = secrets.open(subscription.secret_ciphertext,
                                  binding=binding_for(institution_id, subscription.id))
    return {**stored, "secret": secret}


async def get(session: AsyncSession, *, institution_id: InstitutionId, subscription_id: str) -> SubscriptionOut:
    subscription = await repository.get(session, institution_id, subscription_id)
    if subscription is None:
        raise NotFound("no such subscription")
    return to_out(subscription)


async def list_page(session: AsyncSession, *, institution_id: InstitutionId,
                    page: PageRequest) -> Page[SubscriptionOut]:
    rows = await repository.list_page(session, institution_id, page)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


async def delete(session: AsyncSession, *, institution_id: InstitutionId, subscription_id: str,
                 now: datetime) -> None:
    if not await repository.mark_deleted(session, institution_id, subscription_id, now):
        raise NotFound("no such subscription")
    # Events already queued for it are not sent any more; they stay listed as cancelled.
    await deliveries.cancel_pending_for_subscription(session, institution_id=institution_id,
                                                     subscription_id=subscription_id, now=now)


async def exists(session: AsyncSession, *, institution_id: InstitutionId, subscription_id: str) -> bool:
    return await repository.get(session, institution_id, subscription_id) is not None


async def live_of_each(session: AsyncSession, *, institution_ids: Iterable[InstitutionId]) -> LiveSubscriptions:
    """The live subscriptions of every institution named (none: an empty list), in one query."""
    found: dict[str, list[Subscription]] = {institution_id: [] for institution_id in institution_ids}
    for subscription in await repository.active_of_each(session, found):
        found[subscription.institution_id].append(subscription)
    return found


async def matching(session: AsyncSession, *, institution_id: InstitutionId, event_type: str,
                   subject: str | None = None, data: dict[str, Any] | None = None,
                   live: LiveSubscriptions | None = None) -> list[Matched]:
    """The institution's live subscriptions that want this event (its type, its case, its urgency), from
    ``live`` when it holds the institution (read once for a batch), else read now."""
    payload = data or {}
    held = live.get(institution_id) if live is not None else None
    candidates = held if held is not None else await repository.active(session, institution_id)
    return [Matched(id=s.id, channel=s.channel, delivery_mode=s.delivery_mode, digest_hour=s.digest_hour)
            for s in candidates if wants(_interest(s), event_type, subject, payload)]


def _interest(subscription: Subscription) -> Interest:
    return Interest(event_types=tuple(subscription.event_types),
                    cases=None if subscription.cases is None else tuple(subscription.cases),
                    urgency=subscription.urgency)


async def delivery_target(session: AsyncSession, secrets: SecretBox, *, institution_id: InstitutionId,
                          subscription_id: str) -> DeliveryTarget | None:
    """Where to send for a live subscription (and, for a webhook, with which secret); None once it is
    deleted."""
    subscription = await repository.get(session, institution_id, subscription_id)
    if subscription is None:
        return None
    if subscription.channel == EMAIL:
        return DeliveryTarget(channel=EMAIL, email_address=subscription.email_address)
    if subscription.url is None or subscription.secret_ciphertext is None:
        return None
    secret = secrets.open(subscription.secret_ciphertext, binding=binding_for(institution_id, subscription.id))
    return DeliveryTarget(channel=WEBHOOK, url=subscription.url, secret=secret)
