"""The public channel's JSON API (no account, no token) and the receiving institution's side of the
messages (authenticated). A receipt code travels only in ``Authorization: Receipt <code>``, never in a
URL, so it never lands in an access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.security import APIKeyHeader
from starlette.responses import JSONResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.clock import real_now
from comitas_shared.db import Session
from comitas_shared.errors import Problem
from comitas_shared.evidence import EvidenceEmpty, EvidenceTooLarge, EvidenceTypeRefused
from comitas_shared.openapi import problem_responses
from comitas_shared.pagination import Page, PageQuery
from comitas_shared.throttle import TooManyRequests, client_address

from ..deps import EvidenceStoreDep, KeyRingDep, PublicChannelDep
from ..evidence import service as evidence
from ..protection.service import Actor, ComplaintErased
from . import service
from .schemas import (
    ChallengeOut,
    MessageCreate,
    MessageOut,
    PublicComplaintCreate,
    PublicComplaintCreated,
    PublicEvidenceOut,
    PublicStatusOut,
    WithdrawalIn,
    WithdrawalOut,
)

# Every public route is throttled per address, and closed (503) where no receiving institution is set.
router = APIRouter(prefix="/v1/public", tags=["public channel"], responses=problem_responses(TooManyRequests, 503))
institution_router = APIRouter(prefix="/v1/complaints/{complaint_id}/public-messages", tags=["public channel"])
# The uploads' path pattern, for the platform's body limit (``larger_bodies``): the JSON API's route and the
# HTML form's (``/public/evidence``, in pages.py). Both enforce the channel's own limit as the file streams.
EVIDENCE_PATH = r"/(v1/)?public/evidence"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

# Declared as an API-key scheme so the OpenAPI document says how the code is sent.
_receipt_scheme = APIKeyHeader(name="Authorization", auto_error=False, scheme_name="ReceiptCode",
                               description="`Receipt <code>`: the receipt code given once at submission")


class RequestTooLarge(Problem):
    status, slug, title = 413, "request-too-large", "Request too large"


class LengthRequired(Problem):
    status, slug, title = 411, "length-required", "Content-Length required"


def receipt_code(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, code = value.strip().partition(" ")
    return code.strip() if scheme.lower() == "receipt" and code.strip() else None


def address_of(request: Request, channel: service.PublicChannel) -> str:
    return client_address(request, channel.trusted_proxies)


async def holder(request: Request, session: Session, channel: PublicChannelDep,
                 authorization: Annotated[str | None, Depends(_receipt_scheme)] = None) -> service.Holder:
    return await service.authenticate(session, channel, code=receipt_code(authorization),
                                      address=address_of(request, channel))


Holder = Annotated[service.Holder, Depends(holder)]
CODE_PROBLEMS = problem_responses(service.ReceiptMissing, service.ReceiptNotFound, TooManyRequests,
                                  service.ChannelClosed)


def _within(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise RequestTooLarge(f"at most {limit} bytes", max_bytes=limit)


@router.get("/challenge", response_model=ChallengeOut, responses=problem_responses(service.ChannelClosed),
            summary="A proof-of-work challenge for a submission through the JSON API")
async def challenge(channel: PublicChannelDep) -> JSONResponse:
    channel.institution_id  # noqa: B018 - 503 when the channel is closed
    found = service.new_challenge(channel, now=real_now())
    return JSONResponse(found.model_dump(mode="json"), headers=NO_STORE)


@router.post("/complaints", status_code=201, response_model=PublicComplaintCreated,
             responses=problem_responses(service.ChannelClosed, TooManyRequests, RequestTooLarge),
             summary="Submit a complaint without an account; the receipt code is in the answer, once")
async def submit(payload: PublicComplaintCreate, request: Request, session: Session, platform: PlatformDep,
                 keyring: KeyRingDep, channel: PublicChannelDep, now: Now) -> JSONResponse:
    channel.institution_id  # noqa: B018
    _within(request, channel.settings.public_max_submission_bytes)
    await service.admit_api(channel, address=address_of(request, channel), challenge=payload.proof_of_work.challenge,
                            nonce=payload.proof_of_work.nonce, now=real_now())
    created = await service.submit(session, platform, keyring, channel,
                                   payload=payload, now=now)
    return JSONResponse(created.model_dump(mode="json"), status_code=201, headers=NO_STORE)


@router.get("/status", response_model=PublicStatusOut, responses=CODE_PROBLEMS,
            summary="The complaint's status in plain language (receipt code required)")
async def status(session: Session, keyring: KeyRingDep, code: Holder) -> JSONResponse:
    found = await service.status(session, keyring, holder=code)
    return JSONResponse(found.model_dump(mode="json"), headers=NO_STORE)


@router.get("/messages", response_model=Page[MessageOut], responses=CODE_PROBLEMS,
            summary="The messages exchanged with the institution, oldest first (receipt code required)")
async def read_messages(session: Session, keyring: KeyRingDep, code: Holder, page: PageQuery) -> Page[MessageOut]:
    return await service.list_messages(session, keyring, institution_id=code.institution_id,
                                       complaint_id=code.complaint_id, page=page)


@router.post("/messages", status_code=201, response_model=MessageOut,
             responses={**CODE_PROBLEMS, **problem_responses(ComplaintErased)},
             summary="Write to the institution (receipt code required)")
async def write_message(payload: MessageCreate, session: Session, platform: PlatformDep, keyring: KeyRingDep,
                        code: Holder, now: Now) -> MessageOut:
    return await service.receive_message(session, platform, keyring, holder=code, body=payload.body, now=now)


@router.post("/consent/withdrawal", response_model=WithdrawalOut, responses=CODE_PROBLEMS,
             summary="Withdraw consent given for sharing (receipt code required)")
async def withdraw(payload: WithdrawalIn, session: Session, platform: PlatformDep, keyring: KeyRingDep,
                   code: Holder, now: Now) -> WithdrawalOut:
    return await service.withdraw(session, platform, keyring, holder=code, choices=payload.choices, now=now)


@router.post("/evidence", status_code=201, response_model=PublicEvidenceOut,
             openapi_extra={"requestBody": {"required": True, "description": "the file's bytes, as they are",
                                            "content": {"application/octet-stream": {"schema": {
                                                "type": "string", "format": "binary"}}}}},
             responses={**CODE_PROBLEMS, **problem_responses(ComplaintErased, EvidenceTooLarge, EvidenceTypeRefused,
                                                             EvidenceEmpty, LengthRequired)},
             summary="Add a file to the complaint as the raw body, with Content-Length (receipt code required)")
async def add_evidence(request: Request, platform: PlatformDep, keyring: KeyRingDep, store: EvidenceStoreDep,
                       channel: PublicChannelDep, now: Now,
                       authorization: Annotated[str | None, Depends(_receipt_scheme)] = None,
                       filename: Annotated[str | None, Query(max_length=255)] = None,
                       content_type: Annotated[str | None, Header()] = None) -> JSONResponse:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise LengthRequired("send the file with its Content-Length")
    if int(length) > channel.settings.public_evidence_max_bytes:
        raise EvidenceTooLarge(channel.settings.public_evidence_max_bytes)
    # No transaction is held while the body streams (evidence.service.receive): the code is checked first.
    async with platform.database.transaction() as session:
        code = await service.authenticate(session, channel, code=receipt_code(authorization),
                                          address=address_of(request, channel))
    upload = evidence.Upload(stream=request.stream(), filename=filename, declared_type=(content_type or "")[:255] or None,
                             content_length=int(length))
    body = await service.add_evidence(platform, store, keyring, holder=code, upload=upload, now=now)
    out = PublicEvidenceOut(sha256=body["sha256"], size=body["size"], detected_type=body["detected_type"],
                            received_at=body["created_at"])
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers=NO_STORE)


# --- the receiving institution -------------------------------------------------------------------------


@institution_router.get("", response_model=Page[MessageOut],
                        summary="The complaint's messages with the person who sent it through the public channel "
                                "(audited)")
async def institution_messages(complaint_id: str, session: Session, keyring: KeyRingDep,
                               principal: Scoped("complaints:manage"), page: PageQuery, now: Now) -> Page[MessageOut]:
    return await service.institution_reads_messages(session, keyring, principal=principal, complaint_id=complaint_id,
                                                    page=page, now=now)


@institution_router.post("", status_code=201, response_model=MessageOut, responses=problem_responses(ComplaintErased),
                         summary="Answer the person: they read it with their receipt code (never e-mailed)")
async def institution_answers(complaint_id: str, payload: MessageCreate, session: Session, keyring: KeyRingDep,
                              principal: Scoped("complaints:manage"), now: Now) -> MessageOut:
    return await service.post_message(session, keyring, institution_id=principal.institution_id,
                                      complaint_id=complaint_id, sender="institution", body=payload.body,
                                      author=Actor.of(principal).as_json(), now=now)
