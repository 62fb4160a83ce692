"""Counting complaints into the de-identified table, and publishing the suppressed tables. Never
commits: the caller's transaction does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId

from . import domain, repository
from .schemas import StatisticsCell, StatisticsOut, StatisticsTable


async def count_complaint(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                          respondent_states: list[str], act_types: list[str], month: str, status: str,
                          victims: int) -> None:
    """Counts a complaint (``month`` as ``YYYY-MM``; ``victims`` the number of distinct alleged victims
    it names). Calling it again for the same complaint replaces what was counted (corrected facts).
    Erasure does not undo it: the row holds nothing that identifies anyone."""
    case = domain.check_case(respondent_states=respondent_states, act_types=act_types, month=month,
                             status=status, victims=victims)
    await repository.put(session, institution_id, complaint_id, respondent_states=list(case.respondent_states),
                         act_types=list(case.act_types), month=case.month, status=case.status, victims=case.victims)


async def update_status(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                        status: str) -> None:
    """The complaint's new status; nothing happens for a complaint that was never counted."""
    await repository.set_status(session, institution_id, complaint_id, domain.check_status(status))


def to_out(release: domain.Release, *, institution_id: str, now: datetime) -> StatisticsOut:
    return StatisticsOut(
        institution_id=institution_id, threshold=release.threshold, generated_at=now,
        total_complaints=release.total_complaints, total_victims=release.total_victims,
        tables=[StatisticsTable(
            dimension=table.dimension, withheld=table.withheld, total_complaints=table.total_complaints,
            total_victims=table.total_victims,
            cells=[StatisticsCell(key=c.key, complaints=c.complaints, victims=c.victims, suppressed=c.suppressed)
                   for c in table.cells])
            for table in release.tables])


async def published_statistics(session: AsyncSession, *, institution_id: InstitutionId, now: datetime) -> StatisticsOut:
    """The caller's institution's published tables (ADR 0015: why not the whole platform's)."""
    cases = [domain.Case(respondent_states=tuple(row.respondent_states), act_types=tuple(row.act_types),
                         month=row.month, status=row.status, victims=row.victims)
             for row in await repository.all_of(session, institution_id)]
    return to_out(domain.publish(cases), institution_id=institution_id, now=now)
