"""``GET /v1/referrals/{referral_id}/receipts`` (a referral's attested receipts and its head) and
``GET /.well-known/jwks.json`` (the public keys that verify them, public: a partner verifies offline)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import JSONResponse

from comitas_shared.app import PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session

from . import service
from .schemas import ReceiptChainOut

router = APIRouter()

ReferralIdPath = Annotated[str, Path(min_length=1, max_length=36, description="The referral's id")]


@router.get("/v1/referrals/{referral_id}/receipts", tags=["receipts"], response_model=ReceiptChainOut,
            summary="A referral's attested receipts, in order, with the head the referral records")
async def referral_receipts(referral_id: ReferralIdPath, principal: Scoped("referrals:read"), session: Session,
                            platform: PlatformDep) -> ReceiptChainOut:
    """Each receipt is a JWS (ES256) the referral service signed when it recorded a hand-over: the
    platform's attestation, not either institution's signature. Only the referral's sender and
    recipient see them."""
    return await service.chain_for(session, institution_id=principal.institution_id, referral_id=referral_id,
                                   issuer=platform.settings.public_url)


@router.get("/.well-known/jwks.json", tags=["receipts"],
            summary="JSON Web Key Set of the receipt signing keys (RFC 7517), replaced keys included")
async def receipt_jwks(session: Session) -> JSONResponse:
    # A key stays here as long as a receipt names it; short caching, since a new key appears at rotation.
    return JSONResponse(await service.public_jwks(session), headers={"Cache-Control": "public, max-age=300"})
