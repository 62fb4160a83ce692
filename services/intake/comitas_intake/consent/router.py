from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from pydantic import AwareDatetime
from starlette.responses import JSONResponse, StreamingResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.evidence import EvidenceIntegrityError, EvidenceStripRefused
from comitas_shared.openapi import problem_responses
from comitas_shared.pagination import Page, PageQuery

from ..deps import EvidenceStoreDep, KeyRingDep, StatedPurpose, required_purpose
from ..protection.service import Actor, ComplaintErased
from . import service
from .domain import Category, Purpose
from .schemas import (
    ConsentCheckOut,
    ConsentCreate,
    ConsentOut,
    DisclosureCreate,
    DisclosureOut,
    DisclosurePacket,
    RecipientKind,
    WithdrawalCreate,
)

router = APIRouter(tags=["consent"], responses=problem_responses(ComplaintErased))

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
CONSENTS = "/v1/complaints/{complaint_id}/consents"
DISCLOSURES = "/v1/complaints/{complaint_id}/disclosures"


@router.post(CONSENTS, status_code=201, response_model=ConsentOut, responses=problem_responses(ComplaintErased),
             summary="Record consent given, withdrawn, or not obtainable (with its justification)")
async def record_consent(complaint_id: str, payload: ConsentCreate, session: Session, platform: PlatformDep,
                         keyring: KeyRingDep, principal: Scoped("complaints:manage"), now: Now) -> ConsentOut:
    return await service.record_consent(session, platform, keyring, institution_id=principal.institution_id,
                                        complaint_id=complaint_id, payload=payload, actor=Actor.of(principal),
                                        now=now)


@router.get(CONSENTS, response_model=Page[ConsentOut], summary="A complaint's consent records, in the order recorded")
async def list_consents(complaint_id: str, session: Session, keyring: KeyRingDep,
                        principal: Scoped("complaints:read"), page: PageQuery) -> Page[ConsentOut]:
    return await service.list_consents(session, keyring, institution_id=principal.institution_id,
                                       complaint_id=complaint_id, page=page)


@router.post(CONSENTS + "/{consent_id}/withdrawal", status_code=201, response_model=ConsentOut,
             responses=problem_responses(ComplaintErased),
             summary="Withdraw one consent record (same purposes, recipient and categories)")
async def withdraw_consent(complaint_id: str, consent_id: str, payload: WithdrawalCreate, session: Session,
                           platform: PlatformDep, keyring: KeyRingDep, principal: Scoped("complaints:manage"),
                           now: Now) -> ConsentOut:
    return await service.withdraw(session, platform, keyring, institution_id=principal.institution_id,
                                  complaint_id=complaint_id, consent_id=consent_id, payload=payload,
                                  actor=Actor.of(principal), now=now)


@router.get("/v1/complaints/{complaint_id}/consent-check", response_model=ConsentCheckOut,
            summary="May this category go to this recipient for this purpose? (consent_allows)")
async def consent_check(complaint_id: str, session: Session, principal: Scoped("complaints:read"), now: Now,
                        recipient: Annotated[str, Query(min_length=1, max_length=64)],
                        recipient_kind: Annotated[RecipientKind, Query()],
                        purpose: Annotated[Purpose, Query()], category: Annotated[Category, Query()],
                        at: Annotated[AwareDatetime | None, Query(description="default: now")] = None
                        ) -> ConsentCheckOut:
    return await service.check(session, institution_id=principal.institution_id, complaint_id=complaint_id,
                               recipient=recipient, recipient_kind=recipient_kind, purpose=purpose,
                               category=category, at=at or now)


@router.post(DISCLOSURES, status_code=201, response_model=DisclosureOut,
             responses=problem_responses(ComplaintErased, service.ConsentNotCovering),
             summary="Freeze a disclosure of what consent allows a recipient to read, for one purpose")
async def create_disclosure(complaint_id: str, payload: DisclosureCreate, session: Session, platform: PlatformDep,
                            keyring: KeyRingDep, principal: Scoped("complaints:manage"), now: Now,
                            idempotency_key: IdempotencyKey = None) -> JSONResponse:
    status, body = await service.disclose(session, platform, keyring, principal=principal, complaint_id=complaint_id,
                                          payload=payload, idempotency_key=idempotency_key, now=now)
    return JSONResponse(body, status_code=status, headers={"Location": f"/v1/disclosures/{body['grant_id']}"})


@router.get(DISCLOSURES, response_model=Page[DisclosureOut], summary="A complaint's disclosures, newest first")
async def list_disclosures(complaint_id: str, session: Session, principal: Scoped("complaints:read"),
                           page: PageQuery) -> Page[DisclosureOut]:
    return await service.list_disclosures(session, institution_id=principal.institution_id,
                                          complaint_id=complaint_id, page=page)


@router.delete(DISCLOSURES + "/{grant_id}", response_model=DisclosureOut,
               summary="Revoke a disclosure: its recipient's next read fails")
async def revoke_disclosure(complaint_id: str, grant_id: str, session: Session,
                            principal: Scoped("complaints:manage"), now: Now) -> DisclosureOut:
    return await service.revoke_disclosure(session, principal=principal, complaint_id=complaint_id,
                                           grant_id=grant_id, now=now)


@router.get("/v1/disclosures/{grant_id}/evidence/{evidence_id}", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}},
                       **problem_responses(ComplaintErased, service.DisclosureRevoked, EvidenceStripRefused,
                                           EvidenceIntegrityError)},
            summary="Download a file of a disclosure made to your institution: a copy without metadata "
                    "(stated purpose required; audited, and in the file's custody)")
async def read_disclosed_evidence(grant_id: str, evidence_id: str, session: Session, keyring: KeyRingDep,
                                  store: EvidenceStoreDep, principal: Scoped("complaints:pii"), now: Now,
                                  purpose: StatedPurpose = None) -> StreamingResponse:
    found = await service.read_grant_evidence(session, store, keyring, principal=principal, grant_id=grant_id,
                                              evidence_id=evidence_id, purpose=required_purpose(purpose), now=now)
    return StreamingResponse(found.reader, headers=found.headers, media_type="application/octet-stream")


@router.get("/v1/disclosures/{grant_id}", response_model=DisclosurePacket,
            responses=problem_responses(ComplaintErased, service.DisclosureRevoked),
            summary="Read a disclosure made to your institution (stated purpose required; audited)")
async def read_disclosure(grant_id: str, session: Session, keyring: KeyRingDep, principal: Scoped("complaints:pii"),
                          now: Now, purpose: StatedPurpose = None) -> DisclosurePacket:
    return await service.read_grant(session, keyring, principal=principal, grant_id=grant_id,
                                    purpose=required_purpose(purpose), now=now)
