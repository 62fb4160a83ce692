"""``GET /v1/referrals/candidates``: who could take one of the caller's complaints, each with its reasons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from comitas_shared.auth import BearerToken, Scoped
from comitas_shared.db import Session
from comitas_shared.errors import NotFound
from comitas_shared.openapi import problem_responses

from ..deps import DirectoryReaderDep, IntakeDep
from ..intake import IntakeUnreachable
from . import service
from .schemas import CandidatesOut

router = APIRouter(tags=["referral candidates"])


@router.get("/v1/referrals/candidates", response_model=CandidatesOut,
            responses={**problem_responses(IntakeUnreachable),
                       404: {"description": "no such complaint, or not one of the caller's"}},
            summary="Institutions that could act on one of the caller's complaints, ranked, each with why "
                    "(needs complaints:read too: the complaint's facts are read from intake on the caller's behalf)")
async def candidates(session: Session, principal: Scoped("referrals:write"), token: BearerToken, intake: IntakeDep,
                     reader: DirectoryReaderDep,
                     complaint_id: Annotated[str, Query(min_length=1, max_length=64,
                                                        pattern=r"^[A-Za-z0-9_-]+$")]) -> CandidatesOut:
    complaint = await intake.complaint(token, complaint_id)
    if complaint is None:
        raise NotFound("no such complaint", slug="complaint-not-found", title="Complaint not found")
    areas = reader.areas or (await reader.read_areas() if reader.configured else {})
    return await service.candidates(session, complaint_id=complaint_id, complaint=complaint,
                                    sender=principal.institution_id, areas=areas)
