from __future__ import annotations

from fastapi import APIRouter

from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageQuery

from . import service
from .schemas import MatchNotice

router = APIRouter(prefix="/v1/complaints", tags=["possible duplicates"])


@router.get("/{complaint_id}/possible-duplicates", response_model=Page[MatchNotice],
            summary="Possible duplicates of one of your complaints: the other complaint within your institution; "
                    "elsewhere, only the institution to coordinate with (both non-state, both victims consenting)")
async def list_possible_duplicates(complaint_id: str, session: Session, principal: Scoped("complaints:read"),
                                   page: PageQuery) -> Page[MatchNotice]:
    return await service.possible_duplicates(session, institution_id=principal.institution_id,
                                             complaint_id=complaint_id, page=page)
