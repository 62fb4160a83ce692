from __future__ import annotations

from fastapi import APIRouter

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import CurrentPrincipal, Scoped
from comitas_shared.db import Session

from ..deps import RulesDep
from . import service
from .schemas import AssessmentOut, MechanismCatalogueOut

router = APIRouter(tags=["admissibility"])


@router.post("/v1/complaints/{complaint_id}/assessments", status_code=201, response_model=AssessmentOut,
             summary="Assess the complaint against every international mechanism (stored; emits deadlines)")
async def run_assessment(complaint_id: str, rules: RulesDep, session: Session, platform: PlatformDep,
                         principal: Scoped("complaints:manage"), now: Now) -> AssessmentOut:
    return await service.run_assessment(session, platform, principal=principal, complaint_id=complaint_id,
                                        rules=rules, now=now)


@router.get("/v1/complaints/{complaint_id}/assessments", response_model=list[AssessmentOut],
            summary="Stored assessments of a complaint, newest first, as they were made")
async def list_assessments(complaint_id: str, rules: RulesDep, session: Session,
                           principal: Scoped("complaints:read")) -> list[AssessmentOut]:
    return await service.list_assessments(session, institution_id=principal.institution_id,
                                          complaint_id=complaint_id, rules=rules)


@router.get("/v1/complaints/{complaint_id}/assessments/{assessment_id}", response_model=AssessmentOut,
            summary="One stored assessment, unchanged, with whether it is stale")
async def get_assessment(complaint_id: str, assessment_id: str, rules: RulesDep, session: Session,
                         principal: Scoped("complaints:read")) -> AssessmentOut:
    return await service.get_assessment(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                                        assessment_id=assessment_id, rules=rules)


@router.get("/v1/mechanisms", response_model=MechanismCatalogueOut,
            summary="The international mechanisms, their rules and sources, and the acceptance data")
async def list_mechanisms(rules: RulesDep, _principal: CurrentPrincipal) -> MechanismCatalogueOut:
    return service.catalogue_of(rules)
