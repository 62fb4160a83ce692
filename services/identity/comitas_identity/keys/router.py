"""``GET /.well-known/jwks.json``: the public keys that verify this issuer's tokens."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from comitas_shared.db import Session

from ..deps import KeyRingDep

router = APIRouter(tags=["oauth"])


@router.get("/.well-known/jwks.json", summary="JSON Web Key Set of the token signing keys (RFC 7517)")
async def jwks(session: Session, keyring: KeyRingDep) -> JSONResponse:
    # Short caching: resource servers refetch on an unknown kid anyway, and a retired key should
    # leave caches soon.
    return JSONResponse(await keyring.public_jwks(session), headers={"Cache-Control": "public, max-age=60"})
