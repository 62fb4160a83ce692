from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import PageRequest, page_request

from . import service
from .domain import DeadlineState
from .schemas import DeadlinePage

router = APIRouter(prefix="/v1/deadlines", tags=["deadlines"])

Reader = Scoped("deadlines:read")
Page = Annotated[PageRequest, Depends(page_request)]


@router.get("", response_model=DeadlinePage, summary="The caller's deadlines, soonest first")
async def list_deadlines(principal: Reader, session: Session, page: Page,
                         state: Annotated[DeadlineState | None, Query()] = None) -> DeadlinePage:
    return await service.list_page(session, institution_id=principal.institution_id, page=page, state=state)
