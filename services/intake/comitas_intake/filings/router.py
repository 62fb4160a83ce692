from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.openapi import problem_responses
from comitas_shared.pagination import Page, PageQuery

from ..deps import KeyRingDep
from ..protection.service import ComplaintErased
from . import service
from .domain import Profile
from .schemas import (
    BodiesOut,
    FilingCreate,
    FilingOut,
    FilingStatusChange,
    FilingUpdate,
    PreparationOut,
    ProposalsOut,
)

router = APIRouter(tags=["filings"])
# Preparing opens the complaint's identities for the body (an audited read): it needs complaints:pii.
Preparer = Scoped("complaints:manage", "complaints:pii")
Reader = Scoped("complaints:read")
_CONFLICT = problem_responses(ComplaintErased, 409)


@router.get("/v1/filing-bodies", response_model=BodiesOut,
            summary="The bodies a filing can be prepared for (forms, languages, channels, identity rules) and the "
                    "Special Procedures mandates, each with its source")
async def filing_bodies(principal: Reader) -> BodiesOut:
    return service.bodies_out()


@router.get("/v1/complaints/{complaint_id}/mandate-proposals", response_model=ProposalsOut,
            summary="The Special Procedures mandates an urgent complaint concerns, each with why and its source")
async def mandate_proposals(complaint_id: str, session: Session, principal: Reader,
                            profile: Annotated[list[Profile] | None, Query(
                                description="what the officer knows of the victim (a human rights defender...)")] = None,
                            system: Annotated[list[str] | None, Query(
                                description="the systems to propose from (default: un)", max_length=4)] = None,
                            ) -> ProposalsOut:
    return await service.proposals(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                                   profiles=profile or [], systems=system or [])


@router.post("/v1/filings", response_model=FilingOut, status_code=201,
             responses=problem_responses(ComplaintErased, 404, 409),
             summary="Prepare a filing of a complaint with a body (opens the complaint: complaints:pii, audited)")
async def create_filing(request: FilingCreate, session: Session, platform: PlatformDep, keyring: KeyRingDep,
                        principal: Preparer, now: Now) -> FilingOut:
    return await service.create(session, platform, keyring, principal=principal, request=request, now=now)


@router.get("/v1/complaints/{complaint_id}/filing-records", response_model=Page[FilingOut],
            summary="The complaint's filings, newest first")
async def list_filings(complaint_id: str, session: Session, principal: Reader, page: PageQuery) -> Page[FilingOut]:
    return await service.list_for(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                                  page=page)


@router.get("/v1/filings/{filing_record_id}", response_model=FilingOut,
            summary="A filing: its status, what was missing when last prepared, blocks, languages")
async def get_filing(filing_record_id: str, session: Session, principal: Reader) -> FilingOut:
    return await service.get(session, institution_id=principal.institution_id, filing_id=filing_record_id)


@router.patch("/v1/filings/{filing_record_id}", response_model=FilingOut, responses=_CONFLICT,
              summary="Change a filing's language, translation status, mandates or annexes (prepared again)")
async def update_filing(filing_record_id: str, request: FilingUpdate, session: Session, keyring: KeyRingDep,
                        principal: Preparer, now: Now) -> FilingOut:
    return await service.update(session, keyring, principal=principal, filing_id=filing_record_id, request=request,
                                now=now)


@router.get("/v1/filings/{filing_record_id}/preparation", response_model=PreparationOut,
            responses=problem_responses(ComplaintErased),
            summary="The filing prepared from the complaint as it is now, in the body's order (audited read)")
async def get_preparation(filing_record_id: str, session: Session, keyring: KeyRingDep, principal: Preparer,
                          now: Now) -> PreparationOut:
    return await service.preparation(session, keyring, principal=principal, filing_id=filing_record_id, now=now)


@router.get("/v1/filings/{filing_record_id}/document", response_class=Response,
            responses={**problem_responses(ComplaintErased), 200: {"content": {"application/pdf": {}}}},
            summary="The preparation document, as PDF (audited read)")
async def get_document(filing_record_id: str, session: Session, keyring: KeyRingDep, principal: Preparer,
                       now: Now) -> Response:
    pdf = await service.pdf(session, keyring, principal=principal, filing_id=filing_record_id, now=now)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="filing-{filing_record_id}.pdf"', "Cache-Control": "no-store"})


@router.post("/v1/filings/{filing_record_id}/status", response_model=FilingOut, responses=_CONFLICT,
             summary="Mark ready (nothing required missing, not blocked, translated), file (date, channel), "
                     "register (the body's reference), decide, reject or withdraw")
async def change_status(filing_record_id: str, change: FilingStatusChange, session: Session, platform: PlatformDep,
                        keyring: KeyRingDep, principal: Preparer, now: Now) -> FilingOut:
    return await service.change_status(session, platform, keyring, principal=principal, filing_id=filing_record_id,
                                       change=change, now=now)
