from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from comitas_shared import randomness

from ..deps import CurrentOfficer, PostingOfficer, UpstreamDep
from ..sessions.service import Officer
from ..upstream import UpstreamProblem
from ..web import form_fields, page
from . import service

router = APIRouter(include_in_schema=False)


def _page(template: str, officer: Officer, **values: Any) -> Response:
    return page(template, officer, current="cases", purposes=service.PURPOSES, categories=service.CATEGORIES,
                kinds=service.KINDS, decline_reasons=service.DECLINE_REASONS, channels=service.CONSENT_CHANNELS,
                **values)


async def _form(request: Request) -> dict[str, Any]:
    """The form's fields; the repeated ones (check boxes) as lists."""
    return await form_fields(request, lists=("categories", "purposes"))


async def _refer_page(officer: Officer, upstream: UpstreamDep, complaint_id: str, *, values: dict[str, Any],
                      errors: dict[str, list[str]], general: list[str], status_code: int = 200,
                      done: str | None = None) -> Response:
    data = await service.refer_form(upstream, officer, complaint_id)
    return _page("refer.html", officer, status_code=status_code, data=data, complaint=data["complaint"],
                 values=values, errors=errors, general=general, done=done,
                 idempotency_key=values.get("idempotency_key") or randomness.token_urlsafe(16))


@router.get("/cases/{complaint_id}/refer", response_class=HTMLResponse)
async def refer_page(complaint_id: str, officer: CurrentOfficer, upstream: UpstreamDep,
                     done: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    return await _refer_page(officer, upstream, complaint_id, values={"categories": ["narrative"]}, errors={},
                             general=[], done=done)


@router.post("/cases/{complaint_id}/refer", response_class=HTMLResponse)
async def refer(complaint_id: str, request: Request, officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    values = await _form(request)
    try:
        created = await service.send(upstream, officer, complaint_id, values,
                                     idempotency_key=str(values.get("idempotency_key") or "")[:64]
                                     or randomness.token_urlsafe(16))
    except UpstreamProblem as problem:
        if problem.status >= 500 or problem.status == 404:
            raise
        errors = problem.field_errors()
        aliases = {"recipient_institution_id": "recipient"}
        errors = {aliases.get(name, name): texts for name, texts in errors.items()}
        return await _refer_page(officer, upstream, complaint_id, values=values, errors=errors,
                                 general=[problem.detail], status_code=problem.status)
    return RedirectResponse(f"/referrals/{created['id']}?done=sent", status_code=303)


@router.post("/cases/{complaint_id}/consents", response_class=HTMLResponse)
async def record_consent(complaint_id: str, request: Request, officer: PostingOfficer,
                         upstream: UpstreamDep) -> Response:
    values = await _form(request)
    try:
        await service.record_consent(upstream, officer, complaint_id, values)
    except UpstreamProblem as problem:
        if problem.status >= 500 or problem.status == 404:
            raise
        return await _refer_page(officer, upstream, complaint_id, values={"categories": ["narrative"]},
                                 errors={}, general=[problem.detail], status_code=problem.status)
    return RedirectResponse(f"/cases/{complaint_id}/refer?done=consent", status_code=303)


async def _referral_page(officer: Officer, upstream: UpstreamDep, referral_id: str, *, done: str | None = None,
                         error: str | None = None, status_code: int = 200,
                         packet: dict[str, Any] | None = None, purpose: str = "") -> Response:
    data = await service.referral(upstream, officer, referral_id)
    return _page("referral.html", officer, status_code=status_code, data=data, referral=data["referral"],
                 done=done, error=error, packet=packet, purpose=purpose, step_labels=service.STEP_LABELS)


@router.post("/referrals/{referral_id}/packet", response_class=HTMLResponse)
async def read_packet(referral_id: str, request: Request, officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    """What was shared, for a purpose the officer states (intake audits the read); answered to this POST,
    never in a URL, never cached."""
    purpose = str((await request.form()).get("purpose") or "").strip()[:200]
    if len(purpose) < 3:
        return await _referral_page(officer, upstream, referral_id, error="purpose", status_code=422)
    try:
        packet = await service.read_packet(upstream, officer, referral_id, purpose)
    except UpstreamProblem as problem:
        if problem.status in (403, 409, 410, 422):
            return await _referral_page(officer, upstream, referral_id, error=problem.detail,
                                        status_code=problem.status)
        raise
    return await _referral_page(officer, upstream, referral_id, packet=packet, purpose=purpose)


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
async def referral_page(referral_id: str, officer: CurrentOfficer, upstream: UpstreamDep,
                        done: str | None = None) -> Response:
    return await _referral_page(officer, upstream, referral_id, done=done if done and len(done) < 32 else None)


@router.post("/referrals/{referral_id}/actions/{action}", response_class=HTMLResponse)
async def act(referral_id: str, action: str, request: Request, officer: PostingOfficer,
              upstream: UpstreamDep) -> Response:
    if action not in (*service.RECIPIENT_ACTIONS, *service.SENDER_ACTIONS):
        return await _referral_page(officer, upstream, referral_id, error="action", status_code=404)
    try:
        await service.act(upstream, officer, referral_id, action, await _form(request))
    except UpstreamProblem as problem:
        if problem.status in (409, 422):
            return await _referral_page(officer, upstream, referral_id, error=problem.detail,
                                        status_code=problem.status)
        raise
    return RedirectResponse(f"/referrals/{referral_id}?done={action}", status_code=303)


@router.post("/referrals/{referral_id}/messages", response_class=HTMLResponse)
async def write(referral_id: str, request: Request, officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    values = await _form(request)
    try:
        await service.write(upstream, officer, referral_id, str(values.get("body") or ""),
                            str(values.get("answers") or "") or None)
    except UpstreamProblem as problem:
        if problem.status in (409, 422):
            return await _referral_page(officer, upstream, referral_id, error=problem.detail,
                                        status_code=problem.status)
        raise
    return RedirectResponse(f"/referrals/{referral_id}?done=message#thread", status_code=303)
