from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from comitas_shared import randomness

from ..deps import CurrentOfficer, PostingOfficer, UpstreamDep
from ..problems import form_errors
from ..sessions.service import Officer
from ..upstream import UpstreamProblem
from ..web import form_fields, page
from . import service

router = APIRouter(prefix="/mla", include_in_schema=False)


def _page(template: str, officer: Officer, **values: Any) -> Response:
    return page(template, officer, current="mla", assistance_types=service.ASSISTANCE_TYPES, natures=service.NATURES,
                **values)


@router.get("", response_class=HTMLResponse)
async def requests_page(officer: CurrentOfficer, upstream: UpstreamDep,
                        complaint_id: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    return _page("mla.html", officer, data=await service.overview(upstream, officer),
                 values={"complaint_id": complaint_id} if complaint_id else {}, errors={}, general=[], refused=False,
                 idempotency_key=randomness.token_urlsafe(16))


@router.post("", response_class=HTMLResponse)
async def draft(request: Request, officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    form = await form_fields(request)
    key = (form.get("idempotency_key") or randomness.token_urlsafe(16))[:64]
    try:
        created = await service.draft(upstream, officer, form, idempotency_key=key)
    except UpstreamProblem as problem:
        if problem.status >= 500:
            raise
        shown = form_errors(problem, officer.language, fields=service.DRAFT_FIELDS, messages=service.FIELD_MESSAGES,
                            slugs=service.REFUSALS)
        return _page("mla.html", officer, status_code=problem.status, data=await service.overview(upstream, officer),
                     values=form, errors=shown.fields, general=shown.general, refused=True, idempotency_key=key)
    return RedirectResponse(f"/mla/{created['id']}?done=drafted", status_code=303)


async def _request_page(officer: Officer, upstream: UpstreamDep, request_id: str, *, done: str | None = None,
                        error: str | None = None, status_code: int = 200, values: dict[str, str] | None = None,
                        errors: dict[str, list[str]] | None = None, general: list[str] | None = None) -> Response:
    """The request; after a refused action, that action's form as it was sent, the messages by its fields."""
    data = await service.request(upstream, officer, request_id)
    return _page("mla_request.html", officer, status_code=status_code, data=data, mla=data["request"], done=done,
                 error=error, values=values or {}, errors=errors or {}, general=general or [])


@router.get("/{request_id}", response_class=HTMLResponse)
async def request_page(request_id: str, officer: CurrentOfficer, upstream: UpstreamDep,
                       done: str | None = None) -> Response:
    return await _request_page(officer, upstream, request_id, done=done if done and len(done) < 32 else None)


@router.post("/{request_id}/actions/{action}", response_class=HTMLResponse)
async def act(request_id: str, action: str, request: Request, officer: PostingOfficer,
              upstream: UpstreamDep) -> Response:
    if action not in service.ACTIONS:
        return await _request_page(officer, upstream, request_id, error="action", status_code=404)
    form = await form_fields(request)
    try:
        await service.act(upstream, officer, request_id, action, form)
    except UpstreamProblem as problem:
        if problem.status in (409, 422):
            shown = form_errors(problem, officer.language, fields=service.ACTION_FIELDS.get(action, {}),
                                messages=service.FIELD_MESSAGES, slugs=service.REFUSALS)
            return await _request_page(officer, upstream, request_id, error="refused", status_code=problem.status,
                                       values=form, errors=shown.fields, general=shown.general)
        raise
    return RedirectResponse(f"/mla/{request_id}?done={action}", status_code=303)
