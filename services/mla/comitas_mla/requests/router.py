from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Header
from starlette.responses import JSONResponse, Response

from comitas_shared.app import Now
from comitas_shared.auth import BearerToken, Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageQuery

from ..deps import CtxDep, DirectoryDep, LegalBasesDep, SettingsDep
from . import document, service
from .schemas import (
    Clarification,
    ClarificationRequest,
    CompletenessOut,
    ExecutionConsultation,
    Note,
    Postponement,
    RecognitionExtension,
    Refusal,
    RequestCreate,
    RequestOut,
    RequestState,
    RequestSummary,
    RequestUpdate,
    StatusAnswerIn,
    StatusRequestIn,
    StatusRequestOut,
    TransitionOut,
    TranslationIn,
    Withdrawal,
)

router = APIRouter(prefix="/v1/requests", tags=["mla requests"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
_404 = {404: {"description": "no such request, or not one the caller sent or received"}}
Reader = Scoped("mla:read")
Writer = Scoped("mla:write")
Responder = Scoped("mla:respond")


@router.post("", status_code=201, response_model=RequestOut, summary="Draft a request to another state's central authority")
async def create_request(payload: RequestCreate, session: Session, ctx: CtxDep, directory: DirectoryDep,
                         principal: Writer, token: BearerToken, now: Now,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    status, body = await service.create_request(session, ctx, directory=directory, principal=principal, token=token,
                                                payload=payload, idempotency_key=idempotency_key, now=now)
    return JSONResponse(body, status_code=status, headers={"Location": f"/v1/requests/{body['id']}"})


@router.get("", response_model=Page[RequestSummary], summary="Requests the caller sent or received, newest first")
async def list_requests(session: Session, principal: Reader, page: PageQuery,
                        role: Literal["requesting", "requested"] | None = None,
                        state: RequestState | None = None) -> Page[RequestSummary]:
    return await service.list_requests(session, viewer=principal.institution_id, page=page, role=role, state=state)


@router.get("/{request_id}", response_model=RequestOut, responses=_404, summary="One request")
async def get_request(request_id: str, session: Session, bases: LegalBasesDep, principal: Reader) -> RequestOut:
    return await service.get_request(session, bases, viewer=principal.institution_id, request_id=request_id)


@router.patch("/{request_id}", response_model=RequestOut, responses=_404, summary="Change a draft")
async def update_request(request_id: str, changes: RequestUpdate, session: Session, ctx: CtxDep, principal: Writer,
                         now: Now) -> RequestOut:
    return await service.update_draft(session, ctx, principal=principal, request_id=request_id, changes=changes, now=now)


@router.get("/{request_id}/completeness", response_model=CompletenessOut, responses=_404,
            summary="What the legal basis requires, item by item, and what the request lacks")
async def get_completeness(request_id: str, session: Session, bases: LegalBasesDep, principal: Reader) -> CompletenessOut:
    return await service.get_completeness(session, bases, viewer=principal.institution_id, request_id=request_id)


@router.get("/{request_id}/document", responses={**_404, 200: {"content": {"application/pdf": {}}}},
            response_class=Response, summary="The request document (EIO Annex A, or a letter of request), as PDF")
async def get_document(request_id: str, session: Session, bases: LegalBasesDep, settings: SettingsDep,
                       principal: Reader, now: Now) -> Response:
    row, rules, content, result, translations = await service.document_inputs(
        session, bases, viewer=principal.institution_id, request_id=request_id)
    pdf = await asyncio.to_thread(document.render, row, rules, content, result, translations, now=now,
                                  font=document.find_font(settings.pdf_font_path))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{row.reference}.pdf"', "Cache-Control": "no-store"})


@router.post("/{request_id}/translations", response_model=RequestOut, responses=_404,
             summary="Record a translation of the request: pending, or attached")
async def set_translation(request_id: str, payload: TranslationIn, session: Session, ctx: CtxDep, principal: Writer,
                          now: Now) -> RequestOut:
    return await service.set_translation(session, ctx, principal=principal, request_id=request_id, payload=payload,
                                         now=now)


@router.get("/{request_id}/transitions", response_model=Page[TransitionOut], responses=_404,
            summary="The request's history, oldest first")
async def list_transitions(request_id: str, session: Session, principal: Reader, page: PageQuery) -> Page[TransitionOut]:
    return await service.list_transitions(session, viewer=principal.institution_id, request_id=request_id, page=page)


# --- the requesting side -------------------------------------------------------------------------------------


@router.post("/{request_id}/issue", response_model=RequestOut, responses=_404,
             summary="Issue the request to the requested central authority (409 while incomplete)")
async def issue(request_id: str, session: Session, ctx: CtxDep, principal: Writer, now: Now) -> RequestOut:
    return await service.issue(session, ctx, principal=principal, request_id=request_id, now=now)


@router.post("/{request_id}/clarifications", response_model=RequestOut, responses=_404,
             summary="Answer a request for clarification (and correct the request)")
async def clarify(request_id: str, payload: Clarification, session: Session, ctx: CtxDep, principal: Writer,
                  now: Now) -> RequestOut:
    return await service.clarify(session, ctx, principal=principal, request_id=request_id, payload=payload, now=now)


@router.post("/{request_id}/withdraw", response_model=RequestOut, responses=_404, summary="Withdraw the request")
async def withdraw(request_id: str, payload: Withdrawal, session: Session, ctx: CtxDep, principal: Writer,
                   now: Now) -> RequestOut:
    return await service.withdraw(session, ctx, principal=principal, request_id=request_id, reason=payload.reason,
                                  now=now)


@router.post("/{request_id}/status-requests", status_code=201, response_model=StatusRequestOut, responses=_404,
             summary="Ask the requested authority how the request stands")
async def request_status(request_id: str, session: Session, ctx: CtxDep, principal: Writer, now: Now,
                         payload: StatusRequestIn | None = None) -> StatusRequestOut:
    return await service.request_status(session, ctx, principal=principal, request_id=request_id,
                                        message=payload.message if payload else None, now=now)


# --- the requested side ----------------------------------------------------------------------------------------


@router.post("/{request_id}/acknowledge", response_model=RequestOut, responses=_404,
             summary="Acknowledge receipt (EIO: Annex B)")
async def acknowledge(request_id: str, session: Session, ctx: CtxDep, principal: Responder, now: Now,
                      payload: Note | None = None) -> RequestOut:
    return await service.acknowledge(session, ctx, principal=principal, request_id=request_id,
                                     note=payload.note if payload else None, now=now)


@router.post("/{request_id}/clarification-requests", response_model=RequestOut, responses=_404,
             summary="Ask the requesting authority for more information")
async def request_clarification(request_id: str, payload: ClarificationRequest, session: Session, ctx: CtxDep,
                                principal: Responder, now: Now) -> RequestOut:
    return await service.request_clarification(session, ctx, principal=principal, request_id=request_id,
                                               questions=payload.questions, now=now)


@router.post("/{request_id}/recognise", response_model=RequestOut, responses=_404,
             summary="Recognise (EIO) or accept the request; the execution time limit starts")
async def recognise(request_id: str, session: Session, ctx: CtxDep, principal: Responder, now: Now,
                    payload: Note | None = None) -> RequestOut:
    return await service.recognise(session, ctx, principal=principal, request_id=request_id,
                                   note=payload.note if payload else None, now=now)


@router.post("/{request_id}/execute", response_model=RequestOut, responses=_404,
             summary="Report the request executed")
async def execute(request_id: str, session: Session, ctx: CtxDep, principal: Responder, now: Now,
                  payload: Note | None = None) -> RequestOut:
    return await service.execute(session, ctx, principal=principal, request_id=request_id,
                                 note=payload.note if payload else None, now=now)


@router.post("/{request_id}/refuse", response_model=RequestOut, responses=_404,
             summary="Refuse, citing grounds of the request's legal basis (another ground is 422)")
async def refuse(request_id: str, payload: Refusal, session: Session, ctx: CtxDep, principal: Responder,
                 now: Now) -> RequestOut:
    return await service.refuse(session, ctx, principal=principal, request_id=request_id, payload=payload, now=now)


@router.post("/{request_id}/postpone", response_model=RequestOut, responses=_404,
             summary="Postpone recognition or execution until a date (the time limits stop meanwhile)")
async def postpone(request_id: str, payload: Postponement, session: Session, ctx: CtxDep, principal: Responder,
                   now: Now) -> RequestOut:
    return await service.postpone(session, ctx, principal=principal, request_id=request_id, payload=payload, now=now)


@router.post("/{request_id}/resume", response_model=RequestOut, responses=_404,
             summary="Take a postponed request up again")
async def resume(request_id: str, session: Session, ctx: CtxDep, principal: Responder, now: Now) -> RequestOut:
    return await service.resume(session, ctx, principal=principal, request_id=request_id, now=now)


@router.post("/{request_id}/recognition-extensions", response_model=RequestOut, responses=_404,
             summary="Extend the recognition time limit, with reasons (EIO Art 12(5): at most 30 days)")
async def extend_recognition(request_id: str, payload: RecognitionExtension, session: Session, ctx: CtxDep,
                             principal: Responder, now: Now) -> RequestOut:
    return await service.extend_recognition(session, ctx, principal=principal, request_id=request_id,
                                            payload=payload, now=now)


@router.post("/{request_id}/execution-consultations", response_model=RequestOut, responses=_404,
             summary="Inform and consult: the execution time limit cannot be met (EIO Art 12(6))")
async def consult_on_execution(request_id: str, payload: ExecutionConsultation, session: Session, ctx: CtxDep,
                               principal: Responder, now: Now) -> RequestOut:
    return await service.consult_on_execution(session, ctx, principal=principal, request_id=request_id,
                                              payload=payload, now=now)


@router.post("/{request_id}/status-requests/{status_request_id}/answer", response_model=StatusRequestOut,
             responses=_404, summary="Answer a status request")
async def answer_status(request_id: str, status_request_id: str, payload: StatusAnswerIn, session: Session,
                        ctx: CtxDep, principal: Responder, now: Now) -> StatusRequestOut:
    return await service.answer_status(session, ctx, principal=principal, request_id=request_id,
                                       status_request_id=status_request_id, answer=payload.answer, now=now)


