"""Load, decide, persist, stage events. Never commits.

:func:`note_complaint` is what intake's consumer of a complaint's submission, and a correction, call (like
possible duplicates): it keeps, per victim, a keyed digest, the respondent state, the type of act and the day.
:func:`run_once` is the detection a worker runs for the whole platform.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import NotFound, Problem
from comitas_shared.events.outbox import add_event

from ..models import tables
from ..protection import service as protection
from ..protection.service import KeyRing
from . import domain, repository
from .models import PatternAlert, PatternCase, PatternSubscription
from .schemas import SubscriptionCreate, SubscriptionOut

log = logging.getLogger(__name__)


class StateAuthorityRefused(Problem):
    status, slug, title = 403, "pattern-subscription-refused", "Not for state authorities"


class SubscriptionNotFound(NotFound):
    slug, title = "pattern-subscription-not-found", "Subscription not found"


def to_out(row: PatternSubscription) -> SubscriptionOut:
    return SubscriptionOut(id=row.id, institution_id=row.institution_id, states=list(row.states),
                           threshold=domain.THRESHOLD, window_days=domain.WINDOW_DAYS, created_at=row.created_at)


async def note_complaint(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                         complaint_id: str, persons: list[tuple[str, str | None]], respondent_states: list[str],
                         act_types: list[str], day: date) -> None:
    """(Re)records a complaint's victims for pattern detection: ``persons`` are (name, birth date or None),
    kept only as keyed digests (the same person held by two institutions counts once)."""
    victims = sorted({protection.blind_index(keyring.blind_key, name, birth or "", purpose="pattern")
                      for name, birth in persons if name})
    rows = [PatternCase(institution_id=institution_id, complaint_id=complaint_id, respondent_state=state,
                        act_type=act, victim=victim, day=day)
            for state in sorted(set(respondent_states)) for act in sorted(set(act_types)) for victim in victims]
    await repository.replace_cases(session, institution_id, complaint_id, rows)


async def forget_complaint(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str) -> None:
    """Erasure: the complaint's digests go, like its possible-duplicate index rows (alerts already raised
    stay: they name no one)."""
    await repository.replace_cases(session, institution_id, complaint_id, [])


async def run_once(session: AsyncSession, platform: Platform, *, now: datetime) -> list[domain.Cluster]:
    """One detection pass: raises the alerts of new clusters, clears those that ended; returns the new."""
    today = now.date()
    cases = [domain.Case(institution_id=c.institution_id, respondent_state=c.respondent_state, act_type=c.act_type,
                         victim=c.victim, day=c.day)
             for c in await repository.cases_since(session, today - timedelta(days=domain.WINDOW_DAYS))]
    found = domain.clusters(cases, today=today)
    active = {(a.respondent_state, a.act_type): a for a in await repository.active_alerts(session)}
    ids = {c.key: str(uuid.uuid4()) for c in found if c.key not in active}
    subscriptions = [domain.Subscription(id=s.id, institution_id=s.institution_id, states=frozenset(s.states))
                     for s in await repository.every_subscription(session)]
    decided = domain.alerts(found, active=active, subscriptions=subscriptions, pattern_ids=ids,
                            threshold=domain.THRESHOLD, now=now, source=platform.source)
    for cluster in decided.raised:
        await repository.add(session, PatternAlert(id=ids[cluster.key], respondent_state=cluster.respondent_state,
                                                   act_type=cluster.act_type, active=True, victims=cluster.victims,
                                                   institutions=cluster.institutions, raised_at=now))
    for key in decided.cleared:
        active[key].active, active[key].cleared_at = False, now
    await session.flush()
    for event in decided.events:
        await add_event(session, tables, event)
    return decided.raised


async def detect_forever(platform: Platform, *, clock: Callable[[], datetime], every: float = 600) -> None:
    """The worker: a detection pass every ``every`` seconds, each in its own transaction. It waits before
    the first pass (no full scan of the cases at start-up), with jitter so replicas spread their passes
    apart, as the audit checkpoints and housekeeping do."""
    while True:
        await asyncio.sleep(every * randomness.uniform(0.8, 1.2))
        try:
            async with platform.database.transaction() as session:
                await run_once(session, platform, now=clock())
        except Exception:  # a failed pass is retried at the next one; nothing of it was written
            log.exception("pattern detection failed")


async def subscribe(session: AsyncSession, *, principal: Principal, request: SubscriptionCreate,
                    now: datetime) -> SubscriptionOut:
    kind = principal.claims.get("institution_kind")
    if not domain.may_subscribe(str(kind) if kind else None):
        raise StateAuthorityRefused(f"an institution of kind {kind or 'unknown'} cannot subscribe to pattern alerts: "
                                    "they are for institutions that watch states, never for a state authority")
    row = PatternSubscription(id=str(uuid.uuid4()), institution_id=principal.institution_id,
                              institution_kind=str(kind), states=sorted(set(request.states)), created_at=now)
    await repository.add(session, row)
    return to_out(row)


async def get(session: AsyncSession, *, institution_id: InstitutionId, subscription_id: str) -> SubscriptionOut:
    row = await repository.subscription(session, institution_id, subscription_id)
    if row is None:
        raise SubscriptionNotFound("no such subscription")
    return to_out(row)


async def unsubscribe(session: AsyncSession, *, institution_id: InstitutionId, subscription_id: str) -> None:
    row = await repository.subscription(session, institution_id, subscription_id)
    if row is None:
        raise SubscriptionNotFound("no such subscription")
    await repository.remove(session, row)
