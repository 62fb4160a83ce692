"""Evidence endpoints. The upload takes the file as the raw request body (no multipart: the bytes
stream from the socket through the store without being parsed or buffered), its media type in
``Content-Type`` (recorded as declared, never trusted) and its name in the ``filename`` query
parameter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import JSONResponse, StreamingResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.evidence import (
    EvidenceEmpty,
    EvidenceIntegrityError,
    EvidenceStripRefused,
    EvidenceTooLarge,
    EvidenceTypeRefused,
)
from comitas_shared.openapi import problem_responses
from comitas_shared.pagination import Page, PageQuery

from ..deps import EvidenceStoreDep, KeyRingDep, StatedPurpose, required_purpose
from ..protection.service import Actor, ComplaintErased
from . import service
from .schemas import (
    CustodyOut,
    EvidenceDetail,
    EvidenceOut,
    EvidenceReceived,
    SharedCopyCreate,
    SharedCopyOut,
)

router = APIRouter(prefix="/v1/complaints/{complaint_id}/evidence", tags=["evidence"], responses=problem_responses(ComplaintErased))
UPLOAD_PATH = r"/v1/complaints/[^/]+/evidence"
"""The upload's path, for the platform's body limit: this route takes up to ``evidence_max_bytes``."""

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "the file's bytes, as they are (not multipart); Content-Type is its declared type",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                    "*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("", status_code=201, response_model=EvidenceReceived, openapi_extra=UPLOAD_BODY,
             responses=problem_responses(ComplaintErased, EvidenceTooLarge, EvidenceTypeRefused, EvidenceEmpty),
             summary="Upload an evidence file as the raw body (streamed, hashed, type-checked, encrypted)")
async def upload_evidence(complaint_id: str, request: Request, platform: PlatformDep, keyring: KeyRingDep,
                          store: EvidenceStoreDep, principal: Scoped("complaints:manage"), now: Now,
                          filename: Annotated[str | None, Query(max_length=255)] = None,
                          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    length = request.headers.get("content-length")
    upload = service.Upload(stream=request.stream(), filename=filename,
                            declared_type=(request.headers.get("content-type") or "")[:255] or None,
                            content_length=int(length) if length and length.isdigit() else None)
    status, body = await service.receive(platform, store, keyring, institution_id=principal.institution_id,
                                         complaint_id=complaint_id, upload=upload,
                                         actor=service.custody_actor(principal), audit_actor=Actor.of(principal),
                                         idempotency_key=idempotency_key, now=now)
    return JSONResponse(body, status_code=status,
                        headers={"Location": f"/v1/complaints/{complaint_id}/evidence/{body['id']}"})


@router.get("", response_model=Page[EvidenceOut], summary="A complaint's evidence items, newest first")
async def list_evidence(complaint_id: str, session: Session, principal: Scoped("complaints:read"),
                        page: PageQuery) -> Page[EvidenceOut]:
    return await service.list_items(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                                    page=page)


@router.get("/{evidence_id}", response_model=EvidenceDetail, responses=problem_responses(ComplaintErased),
            summary="One item with its file name (stated purpose required; viewed in custody and audited)")
async def view_evidence(complaint_id: str, evidence_id: str, session: Session, keyring: KeyRingDep,
                        principal: Scoped("complaints:pii"), now: Now,
                        purpose: StatedPurpose = None) -> EvidenceDetail:
    return await service.view(session, keyring, principal=principal, complaint_id=complaint_id,
                              item_id=evidence_id, purpose=required_purpose(purpose), now=now)


@router.get("/{evidence_id}/content", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}},
                       **problem_responses(ComplaintErased, EvidenceIntegrityError)},
            summary="Download a file, verified against its SHA-256 first (stated purpose required; audited)")
async def download_evidence(complaint_id: str, evidence_id: str, session: Session, keyring: KeyRingDep,
                            store: EvidenceStoreDep, principal: Scoped("complaints:pii"), now: Now,
                            purpose: StatedPurpose = None) -> StreamingResponse:
    found = await service.download(session, store, keyring, principal=principal, complaint_id=complaint_id,
                                   item_id=evidence_id, purpose=required_purpose(purpose), now=now)
    return StreamingResponse(found.reader, headers=found.headers, media_type="application/octet-stream")


@router.get("/{evidence_id}/custody", response_model=CustodyOut,
            summary="The item's chain of custody (received, viewed, downloaded, shared), checked")
async def evidence_custody(complaint_id: str, evidence_id: str, session: Session,
                           principal: Scoped("complaints:read")) -> CustodyOut:
    return await service.custody(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                                 item_id=evidence_id)


@router.post("/{evidence_id}/shared-copies", status_code=201, response_model=SharedCopyOut,
             responses=problem_responses(ComplaintErased, EvidenceStripRefused, EvidenceIntegrityError),
             summary="Make a metadata-stripped copy to share with a recipient (consent required)")
async def share_evidence(complaint_id: str, evidence_id: str, payload: SharedCopyCreate, session: Session,
                         keyring: KeyRingDep, store: EvidenceStoreDep, principal: Scoped("complaints:manage"),
                         now: Now) -> SharedCopyOut:
    return await service.share_copy(session, store, keyring, principal=principal,
                                    complaint_id=complaint_id, item_id=evidence_id, payload=payload, now=now)
