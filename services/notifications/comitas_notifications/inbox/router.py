from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from comitas_shared.app import Now
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageQuery

from . import service
from .schemas import InboxItemOut, MarkAllRead, MarkedRead

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])

# Reading one's inbox and marking it read are the same right: the officers who see the deadlines.
Reader = Scoped("deadlines:read")


@router.get("", response_model=Page[InboxItemOut], summary="What waits for the caller's institution, newest first")
async def list_inbox(principal: Reader, session: Session, page: PageQuery,
                     read: Annotated[bool | None, Query(description="only read (true) or unread (false) items")] = None,
                     case_ref: Annotated[str | None, Query(max_length=200, description="only this case's items")] = None,
                     ) -> Page[InboxItemOut]:
    return await service.list_page(session, institution_id=principal.institution_id, page=page, read=read,
                                   case_ref=case_ref)


@router.post("/read-all", response_model=MarkedRead, summary="Mark every unread item read (of one case, up to "
                                                               "an instant, if asked)")
async def mark_all_read(principal: Reader, session: Session, now: Now,
                        body: MarkAllRead | None = None) -> MarkedRead:
    return await service.mark_all_read(session, institution_id=principal.institution_id,
                                       request=body or MarkAllRead(), now=now)


@router.post("/{item_id}/read", response_model=InboxItemOut, summary="Mark an item read")
async def mark_read(item_id: str, principal: Reader, session: Session, now: Now) -> InboxItemOut:
    return await service.mark(session, institution_id=principal.institution_id, item_id=item_id, read=True, now=now)


@router.post("/{item_id}/unread", response_model=InboxItemOut, summary="Mark an item unread")
async def mark_unread(item_id: str, principal: Reader, session: Session, now: Now) -> InboxItemOut:
    return await service.mark(session, institution_id=principal.institution_id, item_id=item_id, read=False, now=now)
