from __future__ import annotations

from fastapi import APIRouter

from comitas_shared.app import Now
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageQuery

from ..deps import CtxDep
from . import service
from .schemas import MessageCreate, MessageOut

router = APIRouter(prefix="/v1/referrals/{referral_id}/messages", tags=["referral thread"])
_404 = {404: {"description": "no such referral, or not one the caller sent or received"}}


@router.get("", response_model=Page[MessageOut], responses=_404, summary="The thread, oldest first")
async def list_messages(referral_id: str, session: Session, principal: Scoped("referrals:read"),
                        page: PageQuery) -> Page[MessageOut]:
    return await service.list_messages(session, viewer=principal.institution_id, referral_id=referral_id, page=page)


@router.post("", status_code=201, response_model=MessageOut, responses=_404,
             summary="Write to the other side (files by SHA-256 only); the sender answers a request for "
                     "information with `answers`")
async def post_message(referral_id: str, payload: MessageCreate, session: Session, ctx: CtxDep,
                       principal: Scoped("referrals:write"), now: Now) -> MessageOut:
    return await service.post(session, ctx, actor=principal.institution_id, referral_id=referral_id,
                              body=payload.body, attachments=payload.attachments, answers=payload.answers, now=now)
