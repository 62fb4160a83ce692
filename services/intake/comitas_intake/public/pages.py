"""The public channel for a person with a browser: plain HTML forms that work without JavaScript (no
script runs on these pages at all), with labels, fieldsets and the page's language. The form's abuse
check is a honeypot field and a signed timestamp (a person takes a while to write; a bot does not).

The receipt code is typed into a form field and posted, never put in a URL. Pages are not cached. No
page sets a cookie, so no form rides on a credential the browser sends by itself: each form carries the
receipt code, and the file form a token signed for its complaint too (cross-site request forgery needs
both, which another site does not have). A file is streamed, never spooled (``upload.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.clock import real_now
from comitas_shared.errors import DomainError, Problem
from comitas_shared.evidence import EvidenceEmpty, EvidenceTooLarge, EvidenceTypeRefused
from comitas_shared.pagination import PageRequest

from ..deps import EvidenceStoreDep, KeyRingDep, PublicChannelDep
from ..evidence import service as evidence
from . import domain, service, upload
from .router import address_of
from .schemas import PublicComplaintFields

router = APIRouter(prefix="/public", include_in_schema=False)

_templates = Environment(loader=PackageLoader("comitas_intake.public", "templates"),
                         autoescape=select_autoescape(["html"]))
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
CHOICES = {
    "investigate": "The institution may use my name, contact, account and files to look into my complaint.",
    "international_bodies": "It may send them to an international body (a UN committee, a regional commission) "
                            "to file my complaint there.",
    "other_institutions": "It may send them to another human-rights institution or a legal aid service that can "
                          "help me.",
    "coordination": "If I also went to another human-rights institution, the two may be told so, to work together.",
}


def _page(template: str, status_code: int = 200, headers: dict[str, str] | None = None, **values: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(template).render(choices=CHOICES, **values), status_code=status_code,
                        headers={**_HEADERS, **(headers or {})})


def _problem_page(error: Problem | DomainError) -> HTMLResponse:
    """What went wrong, said to a person: a wrong code, too many tries (with ``Retry-After``), a closed
    channel and a missing code have sentences of their own in problem.html; the rest shows the detail."""
    status = error.status if isinstance(error, Problem) else 422
    headers = {"Retry-After": error.headers["Retry-After"]} if isinstance(error, Problem) and \
        "Retry-After" in error.headers else None
    detail = error.detail if isinstance(error, Problem) else str(error)
    title = error.title if isinstance(error, Problem) else "Not accepted"
    retry_after = int(headers["Retry-After"]) if headers and headers["Retry-After"].isdigit() else None
    return _page("problem.html", status, headers, title=title, detail=detail, status=status, retry_after=retry_after)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g}"


async def _guarded(work: Callable[[], Awaitable[HTMLResponse]]) -> HTMLResponse:
    try:
        return await work()
    except (Problem, DomainError) as error:
        return _problem_page(error)


def _fields(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the submission's (empty fields are absent)."""
    value = {k: v.strip() for k, v in form.items() if isinstance(v, str) and v.strip()}
    data: dict[str, Any] = {"story": value.get("story", "")}
    for name in ("victim_name", "relationship", "incident_place", "language"):
        if name in value:
            data[name] = value[name]
    if "respondent_state" in value:
        data["respondent_states"] = [value["respondent_state"].upper()]
    if "incident_country" in value:
        data["incident_country"] = value["incident_country"].upper()
    if "incident_date" in value:
        data["incident_date"] = value["incident_date"]
    if "contact_value" in value:
        data["contact"] = {"kind": value.get("contact_kind", "other"), "value": value["contact_value"],
                           "safe_to_use": value.get("contact_safe") == "yes"}
    data["is_victim"] = value.get("who", "victim") == "victim"
    for flag in ("detained", "threatened"):
        data[flag] = flag in value
    data["identity_may_be_disclosed_to_state"] = value.get("disclose_to_state") == "yes"
    data["sharing"] = {choice: f"share_{choice}" in value for choice in CHOICES}
    return data


@router.get("/complaints/new", response_class=HTMLResponse)
async def new_complaint(channel: PublicChannelDep) -> HTMLResponse:
    async def work() -> HTMLResponse:
        channel.institution_id  # noqa: B018 - a closed channel says so
        return _page("new.html", values={}, errors=[],
                     form_token=service.new_form_token(channel, now=real_now()))
    return await _guarded(work)


@router.post("/complaints", response_class=HTMLResponse)
async def submit_complaint(request: Request, platform: PlatformDep, keyring: KeyRingDep, channel: PublicChannelDep,
                           now: Now) -> HTMLResponse:
    async def work() -> HTMLResponse:
        channel.institution_id  # noqa: B018
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > channel.settings.public_max_submission_bytes:
            raise Problem("the form is too long", status=413, slug="request-too-large", title="Too long")
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        await service.admit_form(channel, address=address_of(request, channel), token=form.get("form_token", ""),
                                 honeypot=form.get("website", ""), now=real_now())
        try:
            fields = PublicComplaintFields.model_validate(_fields(form))
            async with platform.database.transaction() as session:
                created = await service.submit(session, platform, keyring, channel, payload=fields, now=now)
        except (ValidationError, DomainError, Problem) as error:
            messages = ([f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()]
                        if isinstance(error, ValidationError) else [str(getattr(error, "detail", None) or error)])
            # A fresh token: the one sent was spent; the person corrects and sends again.
            return _page("new.html", 422, values=form, errors=messages,
                         form_token=service.new_form_token(channel, now=real_now()))
        return _page("created.html", 201, created=created)
    return await _guarded(work)


@router.get("/status", response_class=HTMLResponse)
async def ask_code(channel: PublicChannelDep) -> HTMLResponse:
    async def work() -> HTMLResponse:
        channel.institution_id  # noqa: B018
        return _page("code.html")
    return await _guarded(work)


async def _show_status(platform: PlatformDep, keyring: KeyRingDep, channel: PublicChannelDep,
                       holder: service.Holder, code: str, *, status_code: int = 200, notice: str | None = None,
                       error: str | None = None, received: dict[str, Any] | None = None) -> HTMLResponse:
    """The complaint's page, as the code opens it, read in a transaction of its own (after what wrote)."""
    async with platform.database.transaction() as session:
        found = await service.status(session, keyring, holder=holder)
        thread = await service.list_messages(session, keyring, institution_id=holder.institution_id,
                                             complaint_id=holder.complaint_id, page=PageRequest(limit=200, after=None))
    symbols = domain.normalise_code(code) or ""
    return _page("status.html", status_code, status=found, messages=thread.items, notice=notice, error=error,
                 received=received, receipt_code=domain.format_code(symbols),
                 upload_token=service.new_upload_token(channel, holder=holder, now=real_now()),
                 max_file=_megabytes(channel.settings.public_evidence_max_bytes))


async def _status_page(request: Request, platform: PlatformDep, keyring: KeyRingDep, channel: PublicChannelDep,
                       act: Callable[[Any, service.Holder], Awaitable[str | None]]) -> HTMLResponse:
    async def work() -> HTMLResponse:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        code = form.get("receipt_code", "")
        async with platform.database.transaction() as session:
            holder = await service.authenticate(session, channel, code=code, address=address_of(request, channel))
        async with platform.database.transaction() as session:
            notice = await act(session, holder) if form.get("action") else None
        return await _show_status(platform, keyring, channel, holder, code, notice=notice)
    return await _guarded(work)


@router.post("/status", response_class=HTMLResponse)
async def show_status(request: Request, platform: PlatformDep, keyring: KeyRingDep,
                      channel: PublicChannelDep) -> HTMLResponse:
    async def nothing(_session: Any, _holder: service.Holder) -> str | None:
        return None
    return await _status_page(request, platform, keyring, channel, nothing)


@router.post("/messages", response_class=HTMLResponse)
async def send_message(request: Request, platform: PlatformDep, keyring: KeyRingDep, channel: PublicChannelDep,
                       now: Now) -> HTMLResponse:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    text = form.get("body", "").strip()[:channel.settings.public_max_message_chars]

    async def send(session: Any, holder: service.Holder) -> str | None:
        if not text:
            return "Your message was empty: nothing was sent."
        await service.receive_message(session, platform, keyring, holder=holder, body=text, now=now)
        return "Your message was sent. Come back here to read the answer."
    return await _status_page(request, platform, keyring, channel, send)


@router.post("/consent/withdrawal", response_class=HTMLResponse)
async def withdraw_consent(request: Request, platform: PlatformDep, keyring: KeyRingDep, channel: PublicChannelDep,
                           now: Now) -> HTMLResponse:
    form = await request.form()
    choices = [str(v) for v in form.getlist("withdraw") if str(v) in CHOICES or v == "all"]

    async def withdraw(session: Any, holder: service.Holder) -> str | None:
        if not choices:
            return "You chose nothing to withdraw: nothing changed."
        done = await service.withdraw(session, platform, keyring, holder=holder, choices=choices, now=now)
        return f"Done: {len(done.withdrawn)} permission(s) withdrawn from now on."
    return await _status_page(request, platform, keyring, channel, withdraw)


@router.post("/evidence", response_class=HTMLResponse)
async def add_evidence(request: Request, platform: PlatformDep, keyring: KeyRingDep, store: EvidenceStoreDep,
                       channel: PublicChannelDep, now: Now) -> HTMLResponse:
    """A file sent from the complaint's page, through the JSON API's service function (the same type
    policy, size limit and custody entry). The body is read as it streams (``upload.FormStream``): the
    receipt code and the form's token come before the file and are checked before a byte of it is read."""
    async def work() -> HTMLResponse:
        channel.institution_id  # noqa: B018
        form = upload.FormStream(request.headers.get("content-type", ""), request.stream())
        fields: dict[str, str] = {}
        part = await form.next_part()
        while part is not None and part.filename is None:
            if part.name in ("receipt_code", "form_token"):
                fields[part.name] = await form.text(limit=512)
            part = await form.next_part()
        code = fields.get("receipt_code", "")
        async with platform.database.transaction() as session:
            holder = await service.authenticate(session, channel, code=code, address=address_of(request, channel))

        async def refuse(status_code: int, message: str) -> HTMLResponse:
            with contextlib.suppress(ClientDisconnect, upload.MalformedForm):
                await form.drain()
            return await _show_status(platform, keyring, channel, holder, code, status_code=status_code,
                                      error=message)

        try:
            service.check_upload_token(channel, holder=holder, token=fields.get("form_token", ""), now=real_now())
        except DomainError as refused:
            return await refuse(403, f"Nothing was kept: {refused}.")
        if part is None or part.name != "file" or not part.filename:
            return await refuse(422, "You chose no file: nothing was sent.")
        limit = channel.settings.public_evidence_max_bytes

        async def content() -> AsyncIterator[bytes]:
            size = 0
            async for chunk in form.data():
                size += len(chunk)
                if size > limit:
                    raise EvidenceTooLarge(limit)
                yield chunk

        file = evidence.Upload(stream=content(), filename=part.filename[:255],
                               declared_type=(part.content_type or "")[:255] or None, content_length=None)
        try:
            added = await service.add_evidence(platform, store, keyring, holder=holder, upload=file, now=now)
        except EvidenceTooLarge as refused:
            return await refuse(413, f"The file is too large: at most {_megabytes(refused.extra['max_bytes'])} MB "
                                     "can be sent. Nothing was kept.")
        except EvidenceTypeRefused as refused:
            return await refuse(422, f"This kind of file ({refused.extra['detected_type']}) is not accepted: "
                                     "programs and scripts are refused, whatever their name. Nothing was kept.")
        except EvidenceEmpty:
            return await refuse(422, "The file is empty: nothing was kept.")
        await form.drain()
        received = {"filename": part.filename, "size": added["size"], "detected_type": added["detected_type"],
                    "sha256": added["sha256"]}
        return await _show_status(platform, keyring, channel, holder, code, status_code=201, received=received)
    return await _guarded(work)
