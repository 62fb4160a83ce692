from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import PageRequest, page_request

from . import service
from .schemas import InboxPage

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])

Reader = Scoped("deadlines:read")
Page = Annotated[PageRequest, Depends(page_request)]


@router.get("", response_model=InboxPage, summary="What waits for the caller's institution, newest first")
async def list_inbox(principal: Reader, session: Session, page: Page,
                     read: Annotated[bool | None, Query(description="only read (true) or unread (false) items")] = None
                     ) -> InboxPage:
    return await service.list_page(session, institution_id=principal.institution_id, page=page, read=read)
