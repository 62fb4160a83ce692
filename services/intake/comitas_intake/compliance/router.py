from __future__ import annotations

from fastapi import APIRouter

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.openapi import problem_responses
from comitas_shared.pagination import Page, PageQuery

from . import service
from .schemas import ComplianceOut, DecisionCreate, MeasureOut, StatusCreate

router = APIRouter(tags=["compliance"])


@router.get("/v1/compliance", response_model=ComplianceOut,
            summary="Compliance trajectories per respondent state, body and kind of measure, by year, across "
                    "institutions (counts only, cells under 5 suppressed), with each body's follow-up procedure")
async def get_compliance(session: Session, principal: Scoped("complaints:read"), now: Now) -> ComplianceOut:
    return await service.published(session, now=now)


@router.post("/v1/filings/{filing_record_id}/decision", response_model=list[MeasureOut], status_code=201,
             responses=problem_responses(409),
             summary="Record a decided filing's remedies as measures to follow (the state's report is watched)")
async def record_decision(filing_record_id: str, request: DecisionCreate, session: Session, platform: PlatformDep,
                          principal: Scoped("complaints:manage"), now: Now) -> list[MeasureOut]:
    return await service.record_decision(session, platform, principal=principal, filing_id=filing_record_id,
                                         request=request, now=now)


@router.get("/v1/filings/{filing_record_id}/measures", response_model=Page[MeasureOut],
            summary="A filing's measures with their statuses over time")
async def list_measures(filing_record_id: str, session: Session, principal: Scoped("complaints:read"),
                        page: PageQuery) -> Page[MeasureOut]:
    return await service.list_measures(session, institution_id=principal.institution_id, filing_id=filing_record_id,
                                       page=page)


@router.post("/v1/filings/{filing_record_id}/measures/{measure_id}/statuses", response_model=MeasureOut,
             status_code=201, summary="Record a measure's status as of a day, with its source")
async def record_status(filing_record_id: str, measure_id: str, request: StatusCreate, session: Session,
                        platform: PlatformDep, principal: Scoped("complaints:manage"), now: Now) -> MeasureOut:
    return await service.record_status(session, platform, principal=principal, filing_id=filing_record_id,
                                       measure_id=measure_id, request=request, now=now)
