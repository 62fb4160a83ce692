"""``/v1/institutions``: the directory, for holders of ``directory:read``; changed by ``admin`` (any entry)
and ``directory:manage`` (the caller's own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from comitas_shared.app import Now
from comitas_shared.auth import CurrentPrincipal, Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageRequest, page_request

from . import service
from .domain import InstitutionKind
from .schemas import InstitutionOut, InstitutionUpdate, SubjectAreasOut

router = APIRouter(tags=["directory"])

_ERRORS = {401: {"description": "missing or invalid access token"},
           403: {"description": "the token lacks directory:read"}}
Reader = Scoped("directory:read")


@router.get("/v1/institutions", summary="List institutions", response_model=Page[InstitutionOut],
            responses=_ERRORS)
async def list_institutions(
    session: Session,
    principal: Reader,
    page: Annotated[PageRequest, Depends(page_request)],
    kind: InstitutionKind | None = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")] = None,
    accepts_referrals: bool | None = None,
    active: bool | None = None,
) -> Page[InstitutionOut]:
    return await service.list_page(session, page, viewer=principal, kind=kind, country=country, active=active,
                                   accepts_referrals=accepts_referrals)


@router.get("/v1/institutions/{institution_id}", summary="One institution", response_model=InstitutionOut,
            responses={**_ERRORS, 404: {"description": "no such institution"}})
async def get_institution(institution_id: str, session: Session, principal: Reader) -> InstitutionOut:
    return await service.get(session, institution_id, viewer=principal)


@router.patch("/v1/institutions/{institution_id}", response_model=InstitutionOut,
              summary="Change an entry: admin any, directory:manage the caller's own (not its name, kind, country, "
                      "state_institution or active)",
              responses={401: _ERRORS[401],
                         403: {"description": "neither admin nor directory:manage; another institution's entry; "
                                              "or a field reserved to the administrators"},
                         404: {"description": "no such institution"},
                         409: {"description": "a concurrent change came first: read again and retry"},
                         422: {"description": "an invalid value"}})
async def update_institution(institution_id: str, changes: InstitutionUpdate, session: Session,
                             principal: CurrentPrincipal, now: Now) -> InstitutionOut:
    return await service.update(session, principal=principal, institution_id=institution_id,
                                changes=changes.changes(), now=now)


@router.get("/v1/vocabularies/subject-areas", summary="The mandate subject areas, with their sources",
            response_model=SubjectAreasOut, responses=_ERRORS)
async def list_subject_areas(principal: Reader) -> SubjectAreasOut:
    return service.subject_areas()
