"""Every query on compliance measures. Each takes the caller's institution, but for the published tables'
read, which says why."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.pagination import PageKey, PageRequest

from .models import ComplianceMeasure, ComplianceStatus

IN_ORDER = PageKey(at=ComplianceMeasure.created_at, id=ComplianceMeasure.id, ascending=True)


async def add(session: AsyncSession, row: ComplianceMeasure | ComplianceStatus) -> None:
    session.add(row)
    await session.flush()


async def add_all(session: AsyncSession, rows: Sequence[ComplianceMeasure | ComplianceStatus]) -> None:
    session.add_all(rows)
    await session.flush()


async def measure(session: AsyncSession, institution_id: InstitutionId, filing_id: str,
                  measure_id: str) -> ComplianceMeasure | None:
    query = select(ComplianceMeasure).where(ComplianceMeasure.institution_id == institution_id,
                                            ComplianceMeasure.filing_id == filing_id,
                                            ComplianceMeasure.id == measure_id)
    return (await session.execute(query)).scalar_one_or_none()


async def measures_page(session: AsyncSession, institution_id: InstitutionId, filing_id: str,
                        page: PageRequest) -> list[ComplianceMeasure]:
    query = select(ComplianceMeasure).where(ComplianceMeasure.institution_id == institution_id,
                                            ComplianceMeasure.filing_id == filing_id)
    return list((await session.execute(IN_ORDER.apply(query, page))).scalars())


async def statuses(session: AsyncSession, institution_id: InstitutionId, measure_id: str) -> list[ComplianceStatus]:
    query = (select(ComplianceStatus)
             .where(ComplianceStatus.institution_id == institution_id, ComplianceStatus.measure_id == measure_id)
             .order_by(ComplianceStatus.as_of, ComplianceStatus.created_at))  # type: ignore[arg-type]
    return list((await session.execute(query)).scalars())


async def statuses_of(session: AsyncSession, institution_id: InstitutionId,
                      measure_ids: Sequence[str]) -> dict[str, list[ComplianceStatus]]:
    """:func:`statuses` of several measures in one query, by measure."""
    query = (select(ComplianceStatus)
             .where(ComplianceStatus.institution_id == institution_id,
                    ComplianceStatus.measure_id.in_(measure_ids))
             .order_by(ComplianceStatus.as_of, ComplianceStatus.created_at))  # type: ignore[arg-type]
    found: dict[str, list[ComplianceStatus]] = {}
    for row in (await session.execute(query)).scalars():
        found.setdefault(row.measure_id, []).append(row)
    return found


async def has_state_report(session: AsyncSession, institution_id: InstitutionId, filing_id: str) -> bool:
    query = (select(ComplianceStatus.id)
             .join(ComplianceMeasure, ComplianceMeasure.id == ComplianceStatus.measure_id)  # type: ignore[arg-type]
             .where(ComplianceMeasure.institution_id == institution_id, ComplianceMeasure.filing_id == filing_id,
                    ComplianceStatus.source == "state_report").limit(1))
    return (await session.execute(query)).first() is not None


async def every_measure_with_history(session: AsyncSession) -> list[tuple[ComplianceMeasure, list[ComplianceStatus]]]:
    """Every institution's measures with their statuses, for the published tables only: compliance
    trajectories are what coordination between bodies needs across institutions, and only suppressed
    counts of codes and years leave this function's caller (``domain.trajectories``), never a row."""
    measures = list((await session.execute(select(ComplianceMeasure))).scalars())
    history: dict[str, list[ComplianceStatus]] = {}
    query = select(ComplianceStatus).order_by(ComplianceStatus.as_of, ComplianceStatus.created_at)  # type: ignore[arg-type]
    for row in (await session.execute(query)).scalars():
        history.setdefault(row.measure_id, []).append(row)
    return [(m, history.get(m.id, [])) for m in measures]
