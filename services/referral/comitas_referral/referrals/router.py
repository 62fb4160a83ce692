from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header
from starlette.responses import JSONResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import BearerToken, Scoped
from comitas_shared.db import Session
from comitas_shared.openapi import problem_responses
from comitas_shared.pagination import Page, PageQuery

from ..deps import CtxDep, IntakeDep
from ..intake import IntakeUnreachable
from . import sending, service
from .schemas import (
    Acceptance,
    Acknowledgement,
    Closure,
    Decline,
    InformationRequestCreate,
    InformationRequestOut,
    ReferralCreate,
    ReferralOut,
    ReferralState,
    ReferralSummary,
    TransitionOut,
    Withdrawal,
)

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
_404 = {404: {"description": "no such referral, or not one the caller sent or received"}}
Reader = Scoped("referrals:read")
Writer = Scoped("referrals:write")
Responder = Scoped("referrals:respond")


@router.post("", status_code=201, response_model=ReferralOut,
             responses={**problem_responses(sending.SendIncomplete, IntakeUnreachable),
                        404: problem_responses(404)[404]},
             summary="Refer one of the caller's complaints to another institution: intake freezes what the "
                     "victim's consent allows (409 without it), then the recipient is told (needs complaints:read "
                     "and complaints:manage too, exchanged for intake's audience)")
async def create_referral(payload: ReferralCreate, platform: PlatformDep, ctx: CtxDep, intake: IntakeDep,
                          principal: Writer, token: BearerToken, now: Now,
                          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    status, body = await sending.send(platform, ctx, intake, principal=principal, token=token, payload=payload,
                                      idempotency_key=idempotency_key, now=now)
    headers = {"Location": f"/v1/referrals/{body['id']}"} if status == 201 else {}
    media = "application/json" if status < 400 else "application/problem+json"
    return JSONResponse(body, status_code=status, headers=headers, media_type=media)


@router.get("", response_model=Page[ReferralSummary], summary="Referrals the caller sent or received, newest first")
async def list_referrals(session: Session, principal: Reader, page: PageQuery, now: Now,
                         side: Literal["sender", "recipient"] | None = None,
                         state: ReferralState | None = None) -> Page[ReferralSummary]:
    return await service.list_referrals(session, viewer=principal.institution_id, page=page, side=side, state=state,
                                        now=now)


@router.get("/{referral_id}", response_model=ReferralOut, responses=_404,
            summary="One referral: its state, the packet's grant and digests, deadlines, overdue (derived)")
async def get_referral(referral_id: str, session: Session, principal: Reader, now: Now) -> ReferralOut:
    return await service.get_referral(session, viewer=principal.institution_id, referral_id=referral_id, now=now)


@router.get("/{referral_id}/transitions", response_model=Page[TransitionOut], responses=_404,
            summary="The referral's history, oldest first (its lifecycle's steps; messages: .../messages)")
async def list_transitions(referral_id: str, session: Session, principal: Reader,
                           page: PageQuery) -> Page[TransitionOut]:
    return await service.list_transitions(session, viewer=principal.institution_id, referral_id=referral_id,
                                          page=page)


# --- the recipient ---------------------------------------------------------------------------------------------


@router.post("/{referral_id}/acknowledge", response_model=ReferralOut, responses=_404,
             summary="Acknowledge receipt: the acknowledgement deadline is met, the response deadline starts")
async def acknowledge(referral_id: str, session: Session, ctx: CtxDep, principal: Responder, now: Now,
                      payload: Acknowledgement | None = None) -> ReferralOut:
    return await service.acknowledge(session, ctx, actor=principal.institution_id, referral_id=referral_id, now=now)


@router.post("/{referral_id}/information-requests", status_code=201, response_model=InformationRequestOut,
             responses=_404, summary="Ask the sender for more information (answered in the thread; the response "
                                     "deadline pauses while a request is open)")
async def request_information(referral_id: str, payload: InformationRequestCreate, session: Session, ctx: CtxDep,
                              principal: Responder, now: Now) -> InformationRequestOut:
    return await service.request_information(session, ctx, actor=principal.institution_id, referral_id=referral_id,
                                             question=payload.question, now=now)


@router.post("/{referral_id}/accept", response_model=ReferralOut,
             responses={**_404, **problem_responses(IntakeUnreachable)},
             summary="Accept the case (a transfer: intake creates it among the caller's complaints, which needs "
                     "complaints:submit too)")
async def accept(referral_id: str, platform: PlatformDep, ctx: CtxDep, intake: IntakeDep, principal: Responder,
                 token: BearerToken, now: Now, payload: Acceptance | None = None) -> JSONResponse:
    body = await sending.accept(platform, ctx, intake, principal=principal, token=token, referral_id=referral_id,
                                now=now)
    return JSONResponse(body)


@router.post("/{referral_id}/decline", response_model=ReferralOut, responses=_404,
             summary="Decline, with a reason from the list (and a text)")
async def decline(referral_id: str, payload: Decline, session: Session, ctx: CtxDep, principal: Responder,
                  now: Now) -> ReferralOut:
    return await service.decline(session, ctx, actor=principal.institution_id, referral_id=referral_id,
                                 reason=payload.reason.value, text=payload.text, now=now)


# --- the sender, and either side ------------------------------------------------------------------------------


@router.post("/{referral_id}/withdraw", response_model=ReferralOut, responses=_404,
             summary="Withdraw the referral before the recipient accepts it")
async def withdraw(referral_id: str, session: Session, ctx: CtxDep, principal: Writer, now: Now,
                   payload: Withdrawal | None = None) -> ReferralOut:
    return await service.withdraw(session, ctx, actor=principal.institution_id, referral_id=referral_id, now=now)


@router.post("/{referral_id}/close", response_model=ReferralOut, responses=_404,
             summary="Close the caller's own side of an accepted, declined or withdrawn referral, with its outcome")
async def close(referral_id: str, payload: Closure, session: Session, ctx: CtxDep, principal: Writer,
                now: Now) -> ReferralOut:
    return await service.close(session, ctx, actor=principal.institution_id, referral_id=referral_id,
                               outcome=payload.outcome.value, now=now)
