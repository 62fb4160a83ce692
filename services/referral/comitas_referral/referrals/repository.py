"""Every query on referrals and their rows. Each takes the viewer (the caller's institution) and runs as
that viewer sees it (``viewed_by``): the sender finds its referrals in every state, the recipient once
sent, anyone else nothing (404). The sending worker's one query across institutions says why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.db import rows_affected
from comitas_shared.pagination import PageKey, PageRequest
from comitas_shared.visibility import across_institutions, viewed_by

from .models import InformationRequest, Referral, Transition

NEWEST_FIRST = PageKey(at=Referral.created_at, id=Referral.id)
OLDEST_FIRST = PageKey(at=Transition.at, id=Transition.id, ascending=True)


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get(session: AsyncSession, viewer: InstitutionId, referral_id: str) -> Referral | None:
    query = select(Referral).where(Referral.id == referral_id)
    return (await session.execute(viewed_by(query, viewer))).scalar_one_or_none()


async def by_idempotency_key(session: AsyncSession, viewer: InstitutionId, key: str) -> Referral | None:
    query = select(Referral).where(Referral.sender_institution_id == viewer, Referral.idempotency_key == key)
    return (await session.execute(viewed_by(query, viewer))).scalar_one_or_none()


async def move(session: AsyncSession, viewer: InstitutionId, referral_id: str, *, before: str, version: int,
               values: dict[str, Any]) -> bool:
    """The conditional UPDATE every transition starts with: it changes the row only if it is still in
    ``before`` at ``version``. Of two actions racing on one referral (a withdrawal and an acceptance),
    the second finds nothing to change and is refused: exactly one wins."""
    statement = (update(Referral)
                 .where(Referral.id == referral_id, Referral.state == before, Referral.version == version)
                 .values(**values, version=version + 1)
                 .execution_options(synchronize_session=False))
    return rows_affected(await session.execute(viewed_by(statement, viewer))) == 1


async def page(session: AsyncSession, viewer: InstitutionId, request: PageRequest, *, side: str | None,
               state: str | None) -> list[Referral]:
    query = select(Referral)
    if side == "sender":
        query = query.where(Referral.sender_institution_id == viewer)
    elif side == "recipient":
        query = query.where(Referral.recipient_institution_id == viewer)
    if state is not None:
        query = query.where(Referral.state == state)
    return list((await session.execute(viewed_by(NEWEST_FIRST.apply(query, request), viewer))).scalars())


async def transitions(session: AsyncSession, viewer: InstitutionId, referral_id: str,
                      request: PageRequest) -> list[Transition]:
    query = OLDEST_FIRST.apply(select(Transition).where(Transition.referral_id == referral_id), request)
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def information_requests(session: AsyncSession, viewer: InstitutionId,
                               referral_id: str) -> list[InformationRequest]:
    query = (select(InformationRequest).where(InformationRequest.referral_id == referral_id)
             .order_by(InformationRequest.asked_at, InformationRequest.id))
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def by_grants(session: AsyncSession, viewer: InstitutionId, grant_ids: Sequence[str]) -> list[Referral]:
    """The sender's referrals resting on these grants (intake names them when consent is withdrawn)."""
    query = select(Referral).where(Referral.sender_institution_id == viewer,
                                   Referral.grant_id.in_(list(grant_ids)))  # type: ignore[union-attr]
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def of_complaint(session: AsyncSession, viewer: InstitutionId, complaint_id: str) -> list[Referral]:
    """The sender's referrals of one of its complaints (intake erased it)."""
    query = select(Referral).where(Referral.sender_institution_id == viewer, Referral.complaint_id == complaint_id)
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def stuck_sending(session: AsyncSession, *, before: datetime, limit: int) -> list[tuple[str, str]]:
    """(referral id, sender) of sends started before ``before`` that never completed, whoever sent them."""
    query = (select(Referral.id, Referral.sender_institution_id)
             .where(Referral.state == "sending", Referral.created_at < before)
             .order_by(Referral.created_at).limit(limit))
    rows = await session.execute(across_institutions(
        query, "the sending worker fails the sends of every institution that never completed; each is then "
               "changed as its own sender"))
    return [(str(r[0]), str(r[1])) for r in rows]
