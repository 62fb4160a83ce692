"""The steps that call intake between two transactions of referral's own: sending (intake freezes the
disclosure) and accepting a transfer (intake moves the case). No transaction is open while intake is
asked, and each step is safe to repeat:

1. the referral is committed in ``sending`` (the sender's alone: the recipient sees nothing yet);
2. intake is asked with the caller's exchanged token and ``Idempotency-Key`` = the referral's id, so
   however often the call is repeated (a client retrying with its own Idempotency-Key, which resumes
   the same referral), intake freezes at most one disclosure for it;
3. the grant id and digests are stored and the referral moves to ``sent``, with its receipt and event,
   in one transaction.

intake refusing (no consent: 409) fails the referral with intake's reason, which a retry replays. intake
unreachable leaves it in ``sending``: the client's retry with the same key resumes it, and the sending
worker marks it failed after ``sending_timeout_seconds``. Nothing is announced before step 3.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.clock import Clock
from comitas_shared.errors import (
    Conflict,
    DomainError,
    InsufficientScope,
    NotFound,
    Problem,
    ServiceUnavailable,
    Unprocessable,
)
from comitas_shared.idempotency import request_hash
from comitas_shared.tasks import cancel_and_wait

from ..directory import service as directory
from ..intake import Intake, IntakeUnreachable
from ..thread import service as thread
from . import domain, service
from .deadlines import calendar_of
from .schemas import ReferralCreate

log = logging.getLogger(__name__)


class ConsentRequired(Conflict):
    slug, title = "consent-required", "The victim's consent does not cover this referral"


class TransferNotAvailable(Conflict):
    slug, title = "transfer-not-available", "Transfer not available"


class SendIncomplete(ServiceUnavailable):
    slug, title = "referral-send-incomplete", "The referral could not be sent yet"


class KeyReused(Unprocessable):
    slug, title = "idempotency-key-reused", "Idempotency-Key reused with another request"


async def send(platform: Platform, ctx: service.Ctx, intake: Intake, *, principal: Principal, token: str,
               payload: ReferralCreate, idempotency_key: str | None, now: datetime) -> tuple[int, dict[str, Any]]:
    """``POST /v1/referrals``: the HTTP status and body (a retry with the same key gets both again)."""
    sender = principal.institution_id
    asked = payload.model_dump(mode="json")
    digest = request_hash(asked)
    database = platform.database

    existing = None
    if idempotency_key:
        async with database.transaction() as session:
            existing = await service.by_idempotency_key(session, sender, idempotency_key)
            if existing is not None:
                if existing.request_hash != digest:
                    raise KeyReused("this Idempotency-Key was used for another referral")
                if existing.state == domain.State.FAILED.value:
                    failure = existing.failure or {}
                    return int(failure.get("status") or 409), dict(failure.get("body") or {})
                if existing.state != domain.State.SENDING.value:
                    return 201, (await service.to_out(session, existing, sender, now)).model_dump(mode="json")

    if existing is None:
        complaint = await intake.complaint(token, payload.complaint_id)
        if complaint is None:
            raise NotFound("no such complaint", slug="complaint-not-found", title="Complaint not found")
        async with database.transaction() as session:
            entry = await directory.entry(session, payload.recipient_institution_id)
        if entry is None:
            raise Unprocessable(f"{payload.recipient_institution_id} is not in the institutions directory",
                                slug="recipient-unknown", errors=[{"pointer": "/recipient_institution_id",
                                                                    "detail": "not in the directory"}])
        _check(domain.check_new, sender=sender, recipient=entry.institution_id, kind=payload.kind,
               purpose=payload.purpose, accepts_referrals=entry.accepts_referrals, active=entry.active,
               kinds=tuple(entry.referral_kinds), purposes=tuple(entry.referral_purposes),
               override_reason=payload.override_reason, categories=tuple(payload.categories))
        try:
            async with database.transaction() as session:
                row = await service.start_send(
                    session, sender=sender, complaint_id=payload.complaint_id, recipient=entry.institution_id,
                    kind=payload.kind.value, purpose=payload.purpose.value, categories=list(payload.categories),
                    override=payload.override_reason is not None, idempotency_key=idempotency_key,
                    request_hash=digest, recipient_calendar={**calendar_of(entry.model_dump(mode="json")),
                                                             "kind": entry.kind}, now=now)
                referral_id, recipient_kind = row.id, entry.kind
        except IntegrityError as exc:
            raise Conflict("a send with this Idempotency-Key is under way", slug="idempotency-key-in-use") from exc
    else:
        referral_id = existing.id
        recipient_kind = str((existing.recipient_calendar or {}).get("kind") or "")

    body = {"recipient_institution_id": payload.recipient_institution_id, "recipient_kind": recipient_kind,
            "purpose": "transfer" if payload.kind is domain.Kind.TRANSFER else payload.purpose.value,
            "categories": sorted(set(payload.categories))}
    if payload.override_reason is not None:
        body["override_reason"] = payload.override_reason
    try:
        answer = await _disclose(intake, token, payload.complaint_id, body, referral_id)
    except (IntakeUnreachable, ServiceUnavailable) as exc:
        raise SendIncomplete(f"{exc.detail or exc}: nothing was sent. Retry with the same Idempotency-Key: the send "
                             "resumes with the same referral, and intake answers the same disclosure",
                             referral_id=referral_id) from exc
    except Problem as exc:
        # Named like every other refusal of a send, so the caller can find the failed attempt.
        exc.extra.setdefault("referral_id", referral_id)
        await _fail(database, sender, referral_id, exc.status, exc.body(), now)
        raise
    if answer.status != 201:
        problem = _refusal(answer.status, answer.body, referral_id)
        await _fail(database, sender, referral_id, problem.status, problem.body(), now)
        raise problem

    filing = await _quietly(intake.filing_deadlines(token, payload.complaint_id), [])
    duplicate = await _quietly(intake.possible_duplicates_held_by(token, payload.complaint_id,
                                                                  payload.recipient_institution_id), False)
    async with database.transaction() as session:
        row, sent_now = await service.complete_send(session, ctx, sender=sender, referral_id=referral_id,
                                                    disclosure=answer.body, filing_deadlines=filing,
                                                    duplicate_at_recipient=duplicate, now=now)
        if payload.message and sent_now:
            await thread.post(session, ctx, actor=sender, referral_id=row.id, body=payload.message,
                              attachments=[], answers=None, now=now, referral=row)
        out = await service.to_out(session, row, sender, now)
    return 201, out.model_dump(mode="json")


def _check(check: Any, **values: Any) -> None:
    try:
        check(**values)
    except DomainError as exc:
        raise exc.as_problem() from exc


async def _disclose(intake: Intake, token: str, complaint_id: str, body: dict[str, Any], key: str) -> Any:
    """One retry at once: a call whose answer was lost is answered again by intake (same key)."""
    try:
        return await intake.disclose(token, complaint_id, body=body, key=key)
    except IntakeUnreachable:
        await asyncio.sleep(0.2)
        return await intake.disclose(token, complaint_id, body=body, key=key)


def _refusal(status: int, body: dict[str, Any], referral_id: str) -> Problem:
    if status == 409 and body.get("type", "").endswith("/consent-required"):
        return ConsentRequired(str(body.get("detail") or "the victim's consent does not cover this referral"),
                               referral_id=referral_id, refused=body.get("refused") or {})
    if status == 403:
        return InsufficientScope(str(body.get("detail") or "intake refused the caller's authority"),
                                 referral_id=referral_id, error="insufficient_scope",
                                 required_scopes=body.get("required_scopes") or [])
    if status == 404:
        return NotFound("no such complaint", slug="complaint-not-found", title="Complaint not found",
                        referral_id=referral_id)
    if status == 410:
        return Conflict(str(body.get("detail") or "the complaint was erased"), slug="complaint-erased",
                        referral_id=referral_id)
    return Unprocessable(str(body.get("detail") or f"intake refused the disclosure ({status})"),
                         slug="disclosure-refused", referral_id=referral_id, intake=body)


async def _fail(database: Any, sender: InstitutionId, referral_id: str, status: int, body: dict[str, Any],
                now: datetime) -> None:
    async with database.transaction() as session:
        await service.fail_send(session, sender=sender, referral_id=referral_id,
                                failure={"status": status, "body": body}, now=now)


async def _quietly(call: Any, default: Any) -> Any:
    """What the packet adds (filing deadlines, a possible duplicate) must not stop a send it cannot find."""
    try:
        return await call
    except Exception:  # noqa: BLE001 - logged; the referral is sent without it
        log.warning("referral: an optional look-up at intake failed", exc_info=True)
        return default


async def accept(platform: Platform, ctx: service.Ctx, intake: Intake, *, principal: Principal, token: str,
                 referral_id: str, now: datetime) -> dict[str, Any]:
    """Accepting; a transfer first has intake move the case (with the recipient's exchanged token and the
    sender's grant), which is idempotent by the referral's id."""
    actor = principal.institution_id
    async with platform.database.transaction() as session:
        row = await service.check_acceptable(session, actor=actor, referral_id=referral_id)
        kind, grant_id = row.kind, row.grant_id
    transferred: str | None = None
    if kind == domain.Kind.TRANSFER.value:
        if grant_id is None:
            raise TransferNotAvailable("this referral rests on no disclosure to transfer")
        answer = await intake.transfer(token, grant_id=grant_id, referral_id=referral_id)
        if answer.status in (404, 405) and not str(answer.body.get("type", "")).endswith("not-found"):
            raise TransferNotAvailable("intake offers no transfer operation (POST /v1/transfers) yet")
        if answer.status not in (200, 201):
            raise TransferNotAvailable(str(answer.body.get("detail") or f"intake refused the transfer "
                                                                      f"({answer.status})"),
                                       intake=answer.body)
        transferred = str(answer.body.get("complaint_id") or "") or None
    async with platform.database.transaction() as session:
        out = await service.accept(session, ctx, actor=actor, referral_id=referral_id,
                                   transferred_complaint_id=transferred, now=now)
    return out.model_dump(mode="json")


class SendingWorker:
    """Fails the sends that never completed (their process died before intake answered, intake stayed
    unreachable and the client never retried), whoever sent them; each as its own sender."""

    def __init__(self, *, database: Any, timeout_seconds: float, every_seconds: float, clock: Clock) -> None:
        self.database = database
        self.timeout = timedelta(seconds=timeout_seconds)
        self.every_seconds = every_seconds
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="referral-sending-worker")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once(self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("referral: the sending worker failed")
            await asyncio.sleep(self.every_seconds)

    async def run_once(self, now: datetime) -> int:
        async with self.database.transaction() as session:
            stuck = await service.stuck_sends(session, before=now - self.timeout)
        failed = 0
        for referral_id, sender in stuck:
            try:
                await _fail(self.database, InstitutionId(sender), referral_id, 503,
                            {"type": "https://comitas.dev/problems/referral-send-incomplete",
                             "title": "The referral could not be sent", "status": 503,
                             "detail": "intake's answer never came; nothing was sent"}, now)
                failed += 1
            except Problem:
                continue  # completed or failed meanwhile
        return failed
