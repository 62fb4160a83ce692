"""Results returned with files. The upload takes the file as the raw request body (no multipart: the
bytes stream from the socket through the evidence store without being parsed or buffered), its media
type in ``Content-Type`` (recorded as declared, never trusted) and its name in the ``filename`` query
parameter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import JSONResponse, StreamingResponse

from comitas_shared.app import Now
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageQuery

from ..deps import CtxDep, EvidenceDep
from . import service
from .schemas import ResultOut

router = APIRouter(prefix="/v1/requests/{request_id}/results", tags=["mla results"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "the file's bytes, as they are (not multipart); Content-Type is its declared type",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                    "*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}
UPLOAD_PATH = r"/v1/requests/[^/]+/results"


@router.post("", status_code=201, response_model=ResultOut, openapi_extra=UPLOAD_BODY,
             responses={404: {"description": "no such request, or not one the caller received"}},
             summary="Return a result with a file (raw body; streamed, hashed, type-checked, encrypted)")
async def return_result(request_id: str, request: Request, ctx: CtxDep, store: EvidenceDep,
                        principal: Scoped("mla:respond"), now: Now,
                        filename: Annotated[str | None, Query(max_length=255)] = None,
                        partial: bool = True,
                        description: Annotated[str | None, Query(max_length=2000)] = None,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    length = request.headers.get("content-length")
    upload = service.Upload(stream=request.stream(), filename=filename, declared_type=request.headers.get("content-type"),
                            content_length=int(length) if length and length.isdigit() else None, partial=partial,
                            description=description)
    status, body = await service.receive(ctx, store, principal=principal, request_id=request_id, upload=upload,
                                         idempotency_key=idempotency_key, now=now)
    return JSONResponse(body, status_code=status, headers={"Location": f"/v1/requests/{request_id}/results/{body['id']}"})


@router.get("", response_model=Page[ResultOut], summary="The request's results, newest first, with their custody")
async def list_results(request_id: str, session: Session, ctx: CtxDep, principal: Scoped("mla:read"),
                       page: PageQuery) -> Page[ResultOut]:
    return await service.list_results(session, ctx, viewer=principal.institution_id, request_id=request_id, page=page)


@router.get("/{result_id}", response_model=ResultOut, summary="One result, its hash and its chain of custody (checked)")
async def get_result(request_id: str, result_id: str, session: Session, ctx: CtxDep,
                     principal: Scoped("mla:read")) -> ResultOut:
    return await service.get_result(session, ctx, viewer=principal.institution_id, request_id=request_id,
                                    result_id=result_id)


@router.get("/{result_id}/content", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
            summary="Download the file, verified against its SHA-256 first (\"downloaded\" in its custody)")
async def download_result(request_id: str, result_id: str, session: Session, ctx: CtxDep, store: EvidenceDep,
                          principal: Scoped("mla:read"), now: Now) -> StreamingResponse:
    found = await service.download(session, ctx, store, principal=principal, request_id=request_id,
                                   result_id=result_id, now=now)
    return StreamingResponse(found.reader, headers=found.headers, media_type="application/octet-stream")
