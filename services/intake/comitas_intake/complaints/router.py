from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from starlette.responses import JSONResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageRequest, page_request

from . import service
from .schemas import ComplaintCreate, ComplaintOut, ComplaintUpdate

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


@router.post("", status_code=201, response_model=ComplaintOut, summary="Submit a complaint")
async def submit_complaint(
    payload: ComplaintCreate,
    session: Session,
    platform: PlatformDep,
    principal: Scoped("complaints:submit"),
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    status, body = await service.submit_complaint(
        session, platform, principal=principal, payload=payload, idempotency_key=idempotency_key,
        channel="partner_api", now=now,
    )
    return JSONResponse(body, status_code=status, headers={"Location": f"/v1/complaints/{body['id']}"})


@router.get("/{complaint_id}", response_model=ComplaintOut, summary="Read one of your complaints")
async def get_complaint(complaint_id: str, session: Session, principal: Scoped("complaints:read")) -> ComplaintOut:
    complaint = await service.get_complaint(session, institution_id=principal.institution_id,
                                            complaint_id=complaint_id)
    return service.to_out(complaint)


@router.get("", response_model=Page[ComplaintOut], summary="List your complaints, newest first")
async def list_complaints(
    session: Session,
    principal: Scoped("complaints:read"),
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[ComplaintOut]:
    return await service.list_complaints(session, institution_id=principal.institution_id, page=page)


@router.patch("/{complaint_id}", response_model=ComplaintOut, summary="Correct or complete a complaint's facts")
async def update_complaint(complaint_id: str, changes: ComplaintUpdate, session: Session,
                           principal: Scoped("complaints:manage"), now: Now) -> ComplaintOut:
    complaint = await service.update_complaint(session, institution_id=principal.institution_id,
                                               complaint_id=complaint_id, changes=changes, now=now)
    return service.to_out(complaint)
