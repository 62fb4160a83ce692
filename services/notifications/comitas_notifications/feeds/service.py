"""The feeds' public face: what an institution's feed is, credentials to read it, and replaying it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import nats_auth
from comitas_shared.auth import InstitutionId
from comitas_shared.clock import real_now
from comitas_shared.errors import Conflict, ServiceUnavailable
from comitas_shared.events.catalogue import CATALOGUE
from comitas_shared.idempotency import Idempotency

from .broker import FeedBroker, FeedsNotConfigured, InstitutionInactive
from .domain import feed_subject, on_feeds, replay_start
from .schemas import (
    FeedConsumerState,
    FeedCredentials,
    FeedCredentialsCreate,
    FeedEventType,
    FeedOut,
    FeedReplay,
    FeedReplayed,
)

log = logging.getLogger(__name__)

CREDENTIALS_OPERATION = "feeds.credentials"


class FeedsUnavailable(ServiceUnavailable):
    slug, title = "feeds-unavailable", "The NATS feeds are unavailable"


class InstitutionNotActive(Conflict):
    slug, title = "institution-inactive", "The institution is not active"


@asynccontextmanager
async def _nats_errors() -> AsyncIterator[None]:
    """NATS away, or the feeds off: 503, and nothing changed."""
    try:
        yield
    except FeedsNotConfigured as exc:
        raise FeedsUnavailable(str(exc)) from exc
    except InstitutionInactive as exc:
        raise InstitutionNotActive("the institution is deactivated in the directory: its feed admits no "
                                   "connection") from exc
    except (ConnectionError, TimeoutError, OSError, nats_auth.ClaimsRefused) as exc:
        log.warning("feeds: NATS refused or unreachable: %s", exc)
        raise FeedsUnavailable("NATS is unreachable; try again") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("nats"):
            log.warning("feeds: NATS error: %s", exc)
            raise FeedsUnavailable("NATS answered with an error; try again") from exc
        raise


def _require_enabled(broker: FeedBroker) -> None:
    if not broker.enabled:
        raise FeedsUnavailable("this platform does not run the NATS feeds")


async def describe(broker: FeedBroker, *, institution_id: InstitutionId) -> FeedOut:
    state: FeedConsumerState | None = None
    if broker.enabled and broker.nats.connected:
        async with _nats_errors():
            found = await broker.consumer_state(institution_id)
        if found is not None:
            state = FeedConsumerState(start=found.start, pending=found.pending, ack_pending=found.ack_pending,
                                      redelivered=found.redelivered, delivered=found.delivered,
                                      acknowledged=found.acknowledged, subscribed=found.subscribed)
    return FeedOut(
        enabled=broker.enabled, credentials_available=broker.issues_credentials, nats_url=broker.public_url,
        institution_id=institution_id, stream=nats_auth.FEEDS_STREAM, subjects=nats_auth.feed_subjects(institution_id),
        consumer=nats_auth.consumer_name(institution_id), deliver_subject=nats_auth.deliver_subject(institution_id),
        ack_subjects=nats_auth.ack_subjects(institution_id), ack_wait_seconds=broker.settings.feeds_ack_wait_seconds,
        retention_days=broker.settings.feeds_retention_days,
        event_types=[FeedEventType(type=t, subject=feed_subject(institution_id, t))
                     for t in sorted(CATALOGUE) if on_feeds(t)],
        consumer_state=state)


async def issue_credentials(session: AsyncSession, idempotency: Idempotency, broker: FeedBroker, *,
                            institution_id: InstitutionId, request: FeedCredentialsCreate,
                            idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """201 and a new subscriber's credentials. A retry with the same ``Idempotency-Key`` replays the same
    credentials (the stored answer is sealed under the master key, like every stored answer)."""
    _require_enabled(broker)
    if not nats_auth.usable_institution_id(institution_id):
        raise FeedsUnavailable("this institution's id cannot name a NATS subject")
    async with idempotency.guard(session, institution_id=institution_id, operation=CREDENTIALS_OPERATION,
                                 key=idempotency_key, body=request.model_dump(mode="json")) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body
        async with _nats_errors():
            issued = await broker.issue_credentials(institution_id, name=request.name or "feed subscriber")
        answer = FeedCredentials(
            creds=issued.creds, user_public_key=issued.user_public_key, account_public_key=issued.account_public_key,
            expires_at=issued.expires_at, nats_url=broker.public_url,
            deliver_subject=nats_auth.deliver_subject(institution_id),
            ack_subjects=nats_auth.ack_subjects(institution_id)).model_dump(mode="json")
        Idempotency.remember(call, 201, answer)
        return 201, answer


async def replay(broker: FeedBroker, *, institution_id: InstitutionId, request: FeedReplay) -> FeedReplayed:
    """The stream's time is the wall's (NATS stamps each message when it stores it), not the business
    clock's, so the replay is checked against the real time."""
    _require_enabled(broker)
    since = replay_start(request.since, now=real_now(), retention_days=broker.settings.feeds_retention_days)
    if not nats_auth.usable_institution_id(institution_id):
        raise FeedsUnavailable("this institution's id cannot name a NATS subject")
    async with _nats_errors():
        await broker.replay(institution_id, since=since)
        state = await broker.consumer_state(institution_id)
    return FeedReplayed(consumer=nats_auth.consumer_name(institution_id), since=since,
                        pending=state.pending if state else 0)


async def revoke_credentials(broker: FeedBroker, *, institution_id: InstitutionId) -> None:
    _require_enabled(broker)
    if not nats_auth.usable_institution_id(institution_id):
        raise FeedsUnavailable("this institution's id cannot name a NATS subject")
    async with _nats_errors():
        await broker.revoke_credentials(institution_id)
