"""Every query on patterns. The subscription queries take the caller's institution; the detection's
reads (cases, alerts, subscribers) are across institutions, and say why."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId

from .models import PatternAlert, PatternCase, PatternSubscription


async def replace_cases(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                        rows: list[PatternCase]) -> None:
    await session.execute(delete(PatternCase).where(PatternCase.institution_id == institution_id,  # type: ignore[arg-type]
                                                    PatternCase.complaint_id == complaint_id))
    session.add_all(rows)
    await session.flush()


async def cases_since(session: AsyncSession, day: date) -> list[PatternCase]:
    """Every institution's cases since ``day``: finding a cluster across institutions is the purpose;
    only counts leave the detection (``domain.clusters``)."""
    query = select(PatternCase).where(PatternCase.day >= day)
    return list((await session.execute(query)).scalars())


async def active_alerts(session: AsyncSession) -> list[PatternAlert]:
    """The platform's alerts in force (they name a state and a type of act, no institution)."""
    query = select(PatternAlert).where(PatternAlert.active.is_(True))  # type: ignore[union-attr,attr-defined]
    return list((await session.execute(query)).scalars())


async def every_subscription(session: AsyncSession) -> list[PatternSubscription]:
    """Every subscriber: the detection tells each its own alert."""
    return list((await session.execute(select(PatternSubscription))).scalars())


async def add(session: AsyncSession, row: PatternSubscription | PatternAlert) -> None:
    session.add(row)
    await session.flush()


async def subscription(session: AsyncSession, institution_id: InstitutionId,
                       subscription_id: str) -> PatternSubscription | None:
    query = select(PatternSubscription).where(PatternSubscription.institution_id == institution_id,
                                              PatternSubscription.id == subscription_id)
    return (await session.execute(query)).scalar_one_or_none()


async def remove(session: AsyncSession, row: PatternSubscription) -> None:
    await session.delete(row)
    await session.flush()
