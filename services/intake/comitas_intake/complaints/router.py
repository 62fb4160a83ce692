from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import JSONResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import CurrentPrincipal, Principal, Scoped, require_scopes
from comitas_shared.db import Session
from comitas_shared.errors import Unprocessable
from comitas_shared.openapi import problem_responses
from comitas_shared.pagination import Page, PageQuery

from ..deps import EvidenceStoreDep, KeyRingDep
from ..protection.service import ComplaintErased
from . import service
from .domain import TrackKind
from .forms import shipped_forms
from .schemas import (
    ActsOut,
    ComplaintCreate,
    ComplaintCreated,
    ComplaintOut,
    ComplaintUpdate,
    CompletenessOut,
    ErasureOut,
    ErasureRequest,
    FilingCreate,
    ReferralCreate,
    RightsOut,
    StatusChange,
    TrackChange,
    TrackOut,
)

# Full paths rather than a prefix: the vocabularies the complaint is written with are served here too.
# Any record of an erased complaint answers 410.
router = APIRouter(tags=["complaints"], responses=problem_responses(ComplaintErased))

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
PurposeHeader = Annotated[str | None, Header(alias="Comitas-Purpose", max_length=300,
                                             description="why identifying data is read (needs complaints:pii)")]
PurposeQuery = Annotated[str | None, Query(alias="purpose", max_length=300,
                                           description="the same as the Comitas-Purpose header")]
Forum = StrEnum("Forum", {code: code for code in shipped_forms()})
_needs_pii = require_scopes("complaints:pii").dependency


async def _purpose(principal: Principal, header: str | None, query: str | None) -> str | None:
    """A stated purpose means identifying data is asked for: that needs complaints:pii (403 without)."""
    stated = header if header is not None else query
    if stated is None:
        return None
    stated = stated.strip()
    if len(stated) < 3:
        raise Unprocessable("state the purpose of reading identifying data in a few words",
                            slug="validation-error", title="Validation error",
                            errors=[{"detail": "at least 3 characters", "parameter": "purpose", "in": "header"}])
    await _needs_pii(principal)
    return stated


@router.post("/v1/complaints", status_code=201, response_model=ComplaintCreated, summary="Submit a complaint")
async def submit_complaint(
    payload: ComplaintCreate,
    session: Session,
    platform: PlatformDep,
    keyring: KeyRingDep,
    principal: Scoped("complaints:submit"),
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    status, body = await service.submit_complaint(
        session, platform, keyring, principal=principal, payload=payload, idempotency_key=idempotency_key,
        channel="partner_api", now=now,
    )
    return JSONResponse(body, status_code=status, headers={"Location": f"/v1/complaints/{body['id']}"})


@router.get("/v1/complaints/{complaint_id}", response_model=ComplaintOut,
            summary="Read one of your complaints; identities and free text only with complaints:pii and a stated "
                    "purpose (audited)")
async def get_complaint(complaint_id: str, session: Session, keyring: KeyRingDep,
                        principal: Scoped("complaints:read"), now: Now, purpose: PurposeHeader = None,
                        purpose_query: PurposeQuery = None) -> ComplaintOut:
    stated = await _purpose(principal, purpose, purpose_query)
    return await service.read_complaint(session, keyring, principal=principal, complaint_id=complaint_id,
                                        purpose=stated, now=now)


@router.get("/v1/complaints", response_model=Page[ComplaintOut],
            summary="List your complaints, newest first (identities withheld)")
async def list_complaints(session: Session, principal: Scoped("complaints:read"), page: PageQuery) -> Page[ComplaintOut]:
    return await service.list_complaints(session, institution_id=principal.institution_id, page=page)


@router.patch("/v1/complaints/{complaint_id}", response_model=ComplaintOut,
              summary="Correct or complete a complaint: the sections given replace the stored ones")
async def update_complaint(complaint_id: str, changes: ComplaintUpdate, session: Session, keyring: KeyRingDep,
                           principal: Scoped("complaints:manage"), now: Now) -> ComplaintOut:
    return await service.update_complaint(session, keyring, principal=principal, complaint_id=complaint_id,
                                          changes=changes, now=now)


@router.post("/v1/complaints/{complaint_id}/status", response_model=ComplaintOut,
             summary="Move the complaint in its lifecycle: start_assessment, activate, close (with a reason), "
                     "withdraw, reopen; 409 from a status that does not allow it")
async def change_status(complaint_id: str, change: StatusChange, session: Session, platform: PlatformDep,
                        principal: Scoped("complaints:manage"), now: Now) -> ComplaintOut:
    return await service.change_status(session, platform, principal=principal, complaint_id=complaint_id,
                                       change=change, now=now)


@router.get("/v1/complaints/{complaint_id}/completeness", response_model=CompletenessOut,
            summary="What a forum's form requires that the complaint lacks, item by item, with each rule")
async def get_completeness(complaint_id: str, forum: Forum, session: Session,
                           principal: Scoped("complaints:read")) -> CompletenessOut:
    return await service.completeness(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                                      forum=forum.value)


@router.post("/v1/complaints/{complaint_id}/erasure", response_model=ErasureOut,
             summary="Erase the complaint on request: destroys its key (crypto-shredding); statistics stay")
async def erase_complaint(complaint_id: str, request: ErasureRequest, session: Session, platform: PlatformDep,
                          principal: Scoped("complaints:manage"), now: Now, store: EvidenceStoreDep) -> ErasureOut:
    return await service.erase_complaint(session, platform, principal=principal, complaint_id=complaint_id,
                                         request=request, now=now, store=store)


@router.post("/v1/complaints/{complaint_id}/filings", status_code=201, response_model=TrackOut,
             summary="Record a filing of the complaint with an international mechanism")
async def open_filing(complaint_id: str, request: FilingCreate, session: Session, platform: PlatformDep,
                      principal: Scoped("complaints:manage"), now: Now,
                      idempotency_key: IdempotencyKey = None) -> JSONResponse:
    status, body = await service.open_track(session, platform, principal=principal, complaint_id=complaint_id,
                                            kind=TrackKind.FILING, request=request, idempotency_key=idempotency_key,
                                            now=now)
    return JSONResponse(body, status_code=status,
                        headers={"Location": f"/v1/complaints/{complaint_id}/filings/{body['id']}"})


@router.get("/v1/complaints/{complaint_id}/filings", response_model=list[TrackOut],
            summary="The complaint's filings with mechanisms, oldest first")
async def list_filings(complaint_id: str, session: Session, principal: Scoped("complaints:read")) -> list[TrackOut]:
    return await service.list_tracks(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                                     kind=TrackKind.FILING)


@router.post("/v1/complaints/{complaint_id}/filings/{filing_id}/status", response_model=TrackOut,
             summary="Move a filing: file, register, decide, reject, withdraw")
async def change_filing(complaint_id: str, filing_id: str, change: TrackChange, session: Session,
                        platform: PlatformDep, principal: Scoped("complaints:manage"), now: Now) -> TrackOut:
    return await service.change_track(session, platform, principal=principal, complaint_id=complaint_id,
                                      kind=TrackKind.FILING, track_id=filing_id, change=change, now=now)


@router.post("/v1/complaints/{complaint_id}/referrals", status_code=201, response_model=TrackOut,
             summary="Record that the complaint is to be referred to another institution")
async def open_referral(complaint_id: str, request: ReferralCreate, session: Session, platform: PlatformDep,
                        principal: Scoped("complaints:manage"), now: Now,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    status, body = await service.open_track(session, platform, principal=principal, complaint_id=complaint_id,
                                            kind=TrackKind.REFERRAL, request=request,
                                            idempotency_key=idempotency_key, now=now)
    return JSONResponse(body, status_code=status,
                        headers={"Location": f"/v1/complaints/{complaint_id}/referrals/{body['id']}"})


@router.get("/v1/complaints/{complaint_id}/referrals", response_model=list[TrackOut],
            summary="The complaint's referrals to other institutions, oldest first")
async def list_referrals(complaint_id: str, session: Session, principal: Scoped("complaints:read")) -> list[TrackOut]:
    return await service.list_tracks(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                                     kind=TrackKind.REFERRAL)


@router.post("/v1/complaints/{complaint_id}/referrals/{referral_id}/status", response_model=TrackOut,
             summary="Move a referral: send, accept, decline, complete, cancel")
async def change_referral(complaint_id: str, referral_id: str, change: TrackChange, session: Session,
                          platform: PlatformDep, principal: Scoped("complaints:manage"), now: Now) -> TrackOut:
    return await service.change_track(session, platform, principal=principal, complaint_id=complaint_id,
                                      kind=TrackKind.REFERRAL, track_id=referral_id, change=change, now=now)


@router.get("/v1/vocabularies/acts", response_model=ActsOut, tags=["vocabularies"],
            summary="Types of acts (structured after the HURIDOCS Micro-thesauri, with attribution)")
async def acts_vocabulary(_principal: CurrentPrincipal) -> ActsOut:
    return service.acts_vocabulary()


@router.get("/v1/vocabularies/rights", response_model=RightsOut, tags=["vocabularies"],
            summary="The instruments and articles a complaint may invoke")
async def rights_catalogue(_principal: CurrentPrincipal) -> RightsOut:
    return service.rights_catalogue()
