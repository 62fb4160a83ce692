"""``/v1/institutions``: the directory, for holders of ``directory:read``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from comitas_shared.auth import require_scopes
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageRequest, page_request

from . import service
from .domain import InstitutionKind
from .schemas import InstitutionOut

router = APIRouter(prefix="/v1/institutions", tags=["directory"],
                   dependencies=[require_scopes("directory:read")])

_ERRORS = {401: {"description": "missing or invalid access token"},
           403: {"description": "the token lacks directory:read"}}


@router.get("", summary="List institutions", response_model=Page[InstitutionOut], responses=_ERRORS)
async def list_institutions(
    session: Session,
    page: Annotated[PageRequest, Depends(page_request)],
    kind: InstitutionKind | None = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    active: bool | None = None,
) -> Page[InstitutionOut]:
    return await service.list_page(session, page, kind=kind, country=country, active=active)


@router.get("/{institution_id}", summary="One institution", response_model=InstitutionOut,
            responses={**_ERRORS, 404: {"description": "no such institution"}})
async def get_institution(institution_id: str, session: Session) -> InstitutionOut:
    return await service.get(session, institution_id)
