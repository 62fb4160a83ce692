from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from comitas_shared.auth import CurrentPrincipal

from ..deps import LegalBasesDep
from . import service
from .rules import AssistanceType
from .schemas import BasisOut, CatalogueOut, OfferingOut

router = APIRouter(prefix="/v1/legal-bases", tags=["legal bases"])

StateQuery = Annotated[str, Query(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code")]


@router.get("", response_model=OfferingOut,
            summary="The legal bases available between two states for a type of assistance, best first")
async def list_legal_bases(bases: LegalBasesDep, _principal: CurrentPrincipal, requesting: StateQuery,
                           requested: StateQuery, assistance: AssistanceType | None = None) -> OfferingOut:
    return service.offering(bases, requesting=requesting, requested=requested, assistance=assistance)


@router.get("/catalogue", response_model=CatalogueOut,
            summary="Every legal basis and party list, with sources, statuses and the data version")
async def legal_basis_catalogue(bases: LegalBasesDep, _principal: CurrentPrincipal) -> CatalogueOut:
    return service.catalogue_out(bases)


@router.get("/{code}", response_model=BasisOut, summary="One legal basis: its rules, each with its source")
async def get_legal_basis(code: str, bases: LegalBasesDep, _principal: CurrentPrincipal) -> BasisOut:
    return service.basis_out(bases, code)
