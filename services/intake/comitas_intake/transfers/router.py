from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from starlette.responses import JSONResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.openapi import problem_responses

from ..consent.service import DisclosureRevoked, TransferNotConsented
from ..deps import EvidenceStoreDep, KeyRingDep
from ..protection.service import ComplaintErased
from . import service
from .schemas import TransferCreate, TransferOut

router = APIRouter(tags=["transfers"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255,
                                              description="the referral id: a retry answers the same")]


@router.post("/v1/transfers", status_code=201, response_model=TransferOut,
             responses=problem_responses(404, ComplaintErased, DisclosureRevoked, TransferNotConsented,
                                         service.AlreadyTransferred),
             summary="Take a case over with the sender's grant for the transfer (called by referral with the "
                     "recipient's exchanged token): the caller's new complaint, linked to the sender's")
async def create_transfer(payload: TransferCreate, session: Session, platform: PlatformDep, keyring: KeyRingDep,
                          store: EvidenceStoreDep, principal: Scoped("complaints:submit"), now: Now,
                          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    status, body = await service.transfer(session, platform, keyring, store, principal=principal, payload=payload,
                                          idempotency_key=idempotency_key, now=now)
    return JSONResponse(body, status_code=status, headers={"Location": f"/v1/complaints/{body['complaint_id']}"})
