"""Subscriptions: create (secret shown once), read, list, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.errors import NotFound, Unprocessable
from comitas_shared.events.catalogue import CATALOGUE
from comitas_shared.events.envelope import new_event_id
from comitas_shared.idempotency import Idempotency
from comitas_shared.pagination import PageRequest, page_of

from ..deliveries import repository as deliveries
from ..runtime import Runtime
from . import repository
from .domain import normalise_event_types
from .models import Subscription
from .schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionOut, SubscriptionPage
from .secrets import binding_for, new_signing_secret
from .targets import check_target

CREATE_OPERATION = "subscriptions.create"


def external_event_types() -> list[str]:
    return sorted(t for t, entry in CATALOGUE.items() if entry.external)


def to_out(subscription: Subscription) -> SubscriptionOut:
    return SubscriptionOut(id=subscription.id, url=subscription.url, event_types=list(subscription.event_types),
                           description=subscription.description, created_at=subscription.created_at)


async def create(session: AsyncSession, runtime: Runtime, idempotency: Idempotency, *,
                 institution_id: InstitutionId, request: SubscriptionCreate,
                 idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """Returns the status and body of the answer (201 and the subscription with its secret)."""
    body = request.model_dump(mode="json")
    async with idempotency.guard(session, institution_id=institution_id, operation=CREATE_OPERATION,
                                 key=idempotency_key, body=body) as call:
        if call.is_replay:
            return call.replay_status or 201, await _replayed(session, runtime, institution_id, call.replay_body)
        created = await _create(session, runtime, institution_id=institution_id, request=request)
        answer = created.model_dump(mode="json")
        # The stored answer leaves the secret out: the idempotency table must not hold it in clear.
        Idempotency.remember(call, 201, {k: v for k, v in answer.items() if k != "secret"})
        return 201, answer


async def _create(session: AsyncSession, runtime: Runtime, *, institution_id: InstitutionId,
                  request: SubscriptionCreate) -> SubscriptionCreated:
    event_types, unknown = normalise_event_types(request.event_types, external_event_types())
    if unknown:
        raise Unprocessable(f"unknown event types: {', '.join(unknown)}", slug="unknown-event-type",
                            title="Unknown event type", unknown=unknown, known=external_event_types())
    await check_target(request.url, allow_private=runtime.settings.allow_private_webhook_targets,
                       resolver=runtime.resolver)
    subscription_id = new_event_id()
    secret = new_signing_secret()
    subscription = Subscription(
        id=subscription_id, institution_id=institution_id, url=request.url, event_types=event_types,
        description=request.description, created_at=datetime.now(UTC),
        secret_ciphertext=runtime.secrets.seal(secret, binding=binding_for(institution_id, subscription_id)),
    )
    await repository.add(session, subscription)
    return SubscriptionCreated(**to_out(subscription).model_dump(), secret=secret)


async def _replayed(session: AsyncSession, runtime: Runtime, institution_id: InstitutionId,
                    stored: dict[str, Any]) -> dict[str, Any]:
    """A retried creation gets the first answer again, secret included: the client that lost the first
    answer would otherwise hold a subscription it cannot verify."""
    subscription = await repository.get(session, institution_id, str(stored.get("id")))
    if subscription is None:
        return stored
    secret = runtime.secrets.open(subscription.secret_ciphertext,
                                  binding=binding_for(institution_id, subscription.id))
    return {**stored, "secret": secret}


async def get(session: AsyncSession, *, institution_id: InstitutionId, subscription_id: str) -> SubscriptionOut:
    subscription = await repository.get(session, institution_id, subscription_id)
    if subscription is None:
        raise NotFound("no such subscription")
    return to_out(subscription)


async def list_page(session: AsyncSession, *, institution_id: InstitutionId, page: PageRequest) -> SubscriptionPage:
    rows = await repository.list_page(session, institution_id, page)
    items, cursor = page_of(rows, page, lambda s: (s.created_at, s.id))
    return SubscriptionPage(items=[to_out(s) for s in items], next_cursor=cursor)


async def delete(session: AsyncSession, *, institution_id: InstitutionId, subscription_id: str) -> None:
    now = datetime.now(UTC)
    if not await repository.mark_deleted(session, institution_id, subscription_id, now):
        raise NotFound("no such subscription")
    # Events already queued for it are not sent any more; they stay listed as cancelled.
    await deliveries.cancel_pending_for_subscription(session, institution_id, subscription_id, now)
