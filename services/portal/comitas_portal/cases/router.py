from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from comitas_shared import randomness

from ..deps import CurrentOfficer, PostingOfficer, UpstreamDep
from ..i18n import label, translations
from ..sessions.service import Officer
from ..upstream import UpstreamProblem
from ..web import form_fields, page
from . import service

router = APIRouter(include_in_schema=False)
CaseId = Annotated[str, Query(max_length=64)]


@router.get("/cases", response_class=HTMLResponse)
async def list_cases(officer: CurrentOfficer, upstream: UpstreamDep,
                     q: Annotated[str | None, Query(max_length=200)] = None,
                     status: Annotated[str | None, Query(max_length=32)] = None,
                     cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    found = await service.complaints(upstream, officer, search=q,
                                     status=status if status in service.STATUSES else None, cursor=cursor)
    return page("cases.html", officer, current="cases", page=found, q=q or "", status=status or "",
                statuses=service.STATUSES)


@router.get("/cases/new", response_class=HTMLResponse)
async def new_case(officer: CurrentOfficer) -> Response:
    return page("case_new.html", officer, current="cases", values={"language": officer.language}, errors={},
                general=[], idempotency_key=randomness.token_urlsafe(16))


@router.post("/cases", response_class=HTMLResponse)
async def submit_case(request: Request, officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    form = await form_fields(request)
    key = form.get("idempotency_key") or randomness.token_urlsafe(16)
    if not form.get("summary", "").strip():
        # intake accepts drafts by design; this form submits a complaint, which needs its facts.
        return page("case_new.html", officer, current="cases", status_code=422, values=form,
                    errors={"summary": [translations(officer.language).gettext(service.SUMMARY_REQUIRED)]},
                    general=[], idempotency_key=key)
    try:
        created = await service.submit(upstream, officer, form, idempotency_key=key[:64])
    except UpstreamProblem as problem:
        if problem.status >= 500:
            raise
        errors = problem.field_errors()
        general = [problem.detail] if not errors or "" in errors else []
        return page("case_new.html", officer, current="cases", status_code=422, values=form, errors=errors,
                    general=general + errors.get("", []), idempotency_key=key)
    return RedirectResponse(f"/cases/{created['id']}?done=submitted", status_code=303)


async def _case_page(officer: Officer, upstream: UpstreamDep, complaint_id: str, *, purpose: str | None,
                     done: str | None = None, error: str | None = None, status_code: int = 200) -> Response:
    found = await service.case(upstream, officer, complaint_id, purpose=purpose)
    return page("case.html", officer, current="cases", status_code=status_code, case=found,
                complaint=found.complaint, mechanisms=service.mechanisms(found.assessment), timeline=found.timeline(),
                purpose=purpose or "", done=done, error=error,
                actions=service.actions_for(found.complaint.get("status")), action_labels=service.ACTION_LABELS)


@router.get("/cases/{complaint_id}", response_class=HTMLResponse)
async def case_page(complaint_id: str, officer: CurrentOfficer, upstream: UpstreamDep,
                    done: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    return await _case_page(officer, upstream, complaint_id, purpose=None, done=done)


@router.post("/cases/{complaint_id}/reveal", response_class=HTMLResponse)
async def reveal(complaint_id: str, request: Request, officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    """The victims' identities, for a purpose the officer states: intake checks the scope and writes the
    read to its audit log; the page is answered to this POST and never cached (nothing in a URL)."""
    purpose = str((await request.form()).get("purpose") or "").strip()
    if len(purpose) < 3:
        return await _case_page(officer, upstream, complaint_id, purpose=None, error="purpose", status_code=422)
    return await _case_page(officer, upstream, complaint_id, purpose=purpose[:200])


@router.post("/cases/{complaint_id}/status", response_class=HTMLResponse)
async def change_status(complaint_id: str, request: Request, officer: PostingOfficer,
                        upstream: UpstreamDep) -> Response:
    action = str((await request.form()).get("action") or "")
    if action not in service.ACTIONS:
        return await _case_page(officer, upstream, complaint_id, purpose=None, error="action", status_code=422)
    try:
        await service.change_status(upstream, officer, complaint_id, action)
    except UpstreamProblem as problem:
        if problem.status == 409 and str(problem.problem.get("type") or "").endswith("/invalid-transition"):
            gettext = translations(officer.language).gettext
            status = str(problem.problem.get("current_status") or "")
            said = gettext(service.NOT_ALLOWED) % {"action": gettext(service.ACTION_LABELS[action]),
                                                   "status": label(officer.language, status)}
            return await _case_page(officer, upstream, complaint_id, purpose=None, error=said, status_code=409)
        if problem.status in (409, 422):
            return await _case_page(officer, upstream, complaint_id, purpose=None, error=problem.detail,
                                    status_code=problem.status)
        raise
    return RedirectResponse(f"/cases/{complaint_id}?done={action}", status_code=303)


@router.post("/cases/{complaint_id}/assessments", response_class=HTMLResponse)
async def run_assessment(complaint_id: str, officer: PostingOfficer, upstream: UpstreamDep) -> Response:
    try:
        await service.assess(upstream, officer, complaint_id)
    except UpstreamProblem as problem:
        if problem.status in (409, 422):
            return await _case_page(officer, upstream, complaint_id, purpose=None, error=problem.detail,
                                    status_code=problem.status)
        raise
    return RedirectResponse(f"/cases/{complaint_id}?done=assessed#assessment", status_code=303)
