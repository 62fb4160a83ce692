from __future__ import annotations

from fastapi import APIRouter

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.openapi import problem_responses

from . import service
from .schemas import ProceedingsOut, StepCreate

router = APIRouter(prefix="/v1/filings/{filing_record_id}/proceedings", tags=["proceedings"])


@router.get("", response_model=ProceedingsOut,
            summary="A filing's proceedings: the body's steps, those recorded, the time limits and interim measures")
async def get_proceedings(filing_record_id: str, session: Session, principal: Scoped("complaints:read")
                          ) -> ProceedingsOut:
    return await service.proceedings(session, institution_id=principal.institution_id, filing_id=filing_record_id)


@router.post("/steps", response_model=ProceedingsOut, status_code=201, responses=problem_responses(409),
             summary="Record a step (it opens the limits its rule gives or the body set, and meets those it "
                     "answers, through notifications) or an interim-measures action with its channel")
async def record_step(filing_record_id: str, request: StepCreate, session: Session, platform: PlatformDep,
                      principal: Scoped("complaints:manage"), now: Now) -> ProceedingsOut:
    return await service.record(session, platform, principal=principal, filing_id=filing_record_id, request=request,
                                now=now)
