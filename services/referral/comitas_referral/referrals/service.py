"""Load, decide, persist, stage events and receipts. Never commits: the caller's transaction does
(``sending.py`` holds the two transactions of a send around the call to intake).

Every function loads through the repository as the caller's institution sees the referral, so a third
institution gets 404 before anything is decided; every transition starts with the conditional UPDATE
of ``repository.move`` (exactly one of two racing actions wins), is attested by a receipt in the same
transaction, and stages its event (with the receipt chain's head) in the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId
from comitas_shared.errors import Conflict, NotFound
from comitas_shared.events.catalogue import (
    DEADLINE_PAUSED,
    DEADLINE_REQUESTED,
    DEADLINE_RESUMED,
    DEADLINE_WITHDRAWN,
    REFERRAL_DISCLOSURE_REVOKED,
    DeadlineCalendar,
    DeadlineCounting,
    DeadlinePaused,
    DeadlineRequested,
    DeadlineResumed,
    DeadlineWithdrawn,
    DirectoryClosure,
)
from comitas_shared.events.outbox import add_event
from comitas_shared.pagination import Page, PageRequest

from ..directory import service as directory
from ..models import tables
from ..receipts import service as receipts
from . import deadlines, domain, repository
from .domain import Action, Side, State
from .models import InformationRequest, Referral, Transition
from .schemas import (
    DeadlineOut,
    FilingDeadline,
    InformationRequestOut,
    PacketOut,
    ReferralOut,
    ReferralSummary,
    SideClosure,
    TransitionOut,
)

TRANSITION_NAMES = {
    Action.SEND: "sent", Action.ACKNOWLEDGE: "acknowledged", Action.REQUEST_INFORMATION: "information_requested",
    Action.PROVIDE_INFORMATION: "information_provided", Action.ACCEPT: "accepted", Action.DECLINE: "declined",
    Action.WITHDRAW: "withdrawn", Action.CLOSE: "closed", Action.POST_MESSAGE: "message_posted",
}


@dataclass(frozen=True)
class Ctx:
    """What every transition needs from the app."""

    platform: Platform
    signer: Any


class ReferralNotFound(NotFound):
    slug, title = "referral-not-found", "Referral not found"


class ChangedMeanwhile(Conflict):
    slug, title = "referral-changed", "The referral changed meanwhile"


# --- reading ------------------------------------------------------------------------------------------------


async def visible_referral(session: AsyncSession, institution_id: str, referral_id: str) -> Referral:
    """The referral as ``institution_id`` sees it: its sender always, its recipient once sent; anyone
    else gets :class:`ReferralNotFound` (404). Receipts and the thread reach referrals through this."""
    row = await repository.get(session, InstitutionId(institution_id), referral_id)
    if row is None:
        raise ReferralNotFound("no such referral")
    return row


def side_of(row: Referral, viewer: str) -> Side:
    return domain.side_of(viewer, sender_institution_id=row.sender_institution_id,
                          recipient_institution_id=row.recipient_institution_id)


def closed_sides(row: Referral) -> frozenset[Side]:
    found = set()
    if row.sender_closed_at is not None:
        found.add(Side.SENDER)
    if row.recipient_closed_at is not None:
        found.add(Side.RECIPIENT)
    return frozenset(found)


async def open_requests(session: AsyncSession, viewer: InstitutionId, row: Referral) -> list[InformationRequest]:
    return [r for r in await repository.information_requests(session, viewer, row.id) if r.closed_by is None]


def overdue_of(row: Referral, now: datetime, open_count: int) -> str | None:
    return domain.overdue(State(row.state), now, acknowledgement_due_at=row.acknowledgement_due_at,
                          response_due_at=row.response_due_at, open_requests=open_count)


def _paused(row: Referral) -> int:
    """1 while a request for information is open (the response period's last pause is not resumed): what a
    list needs to derive overdue without loading each referral's requests."""
    return 1 if row.response_pauses and row.response_pauses[-1][1] is None else 0


def _deadlines_out(row: Referral, open_count: int) -> list[DeadlineOut]:
    place = row.recipient_calendar or {}
    state = State(row.state)
    found = []
    if state is not State.SENDING and state is not State.FAILED:
        note = deadlines.why_not(place, deadlines.ACKNOWLEDGEMENT)
        ack_state = "not_requested" if note else ("open" if state is State.SENT else
                                                  "met" if row.acknowledged_at else "withdrawn")
        found.append(DeadlineOut(period="acknowledgement", last_day=row.acknowledgement_due,
                                 due_at=row.acknowledgement_due_at, time_zone=place.get("time_zone"),
                                 state=ack_state, note=note))  # type: ignore[arg-type]
    if row.acknowledged_at is not None:
        note = deadlines.why_not(place, deadlines.RESPONSE)
        if note:
            response_state = "not_requested"
        elif state is State.ACKNOWLEDGED:
            response_state = "paused" if open_count else "open"
        else:
            response_state = "met" if state in (State.ACCEPTED, State.DECLINED) else "withdrawn"
        found.append(DeadlineOut(period="response", last_day=row.response_due, due_at=row.response_due_at,
                                 time_zone=place.get("time_zone"), state=response_state,  # type: ignore[arg-type]
                                 note=note))
    return found


async def to_out(session: AsyncSession, row: Referral, viewer: InstitutionId, now: datetime, *,
                 requests: list[InformationRequest] | None = None) -> ReferralOut:
    """``requests``: the referral's information requests when the caller has just read them all."""
    if requests is None:
        requests = await repository.information_requests(session, viewer, row.id)
    open_count = sum(1 for r in requests if r.closed_by is None)
    side = side_of(row, viewer)
    closed = {}
    if row.sender_closed_at is not None:
        closed["sender"] = SideClosure(closed_at=row.sender_closed_at, outcome=row.sender_outcome or "")
    if row.recipient_closed_at is not None:
        closed["recipient"] = SideClosure(closed_at=row.recipient_closed_at, outcome=row.recipient_outcome or "")
    return ReferralOut(
        id=row.id, state=row.state, side=side.value, kind=row.kind, purpose=row.purpose,  # type: ignore[arg-type]
        complaint_id=row.complaint_id, sender_institution_id=row.sender_institution_id,
        recipient_institution_id=row.recipient_institution_id, consent_overridden=row.consent_overridden,
        packet=PacketOut(grant_id=row.grant_id, read_at=f"/v1/disclosures/{row.grant_id}" if row.grant_id else None,
                         categories=list(row.categories), salt=row.disclosure_salt, digests=dict(row.digests),
                         revoked=row.disclosure_revoked,
                         filing_deadlines=[FilingDeadline.model_validate(d) for d in row.filing_deadlines]),
        deadlines=_deadlines_out(row, open_count), overdue=overdue_of(row, now, open_count),  # type: ignore[arg-type]
        information_requests=[InformationRequestOut(
            id=r.id, question=r.question, asked_at=r.asked_at, answered_at=r.answered_at,
            answer_message_id=r.answer_message_id, closed_by=r.closed_by) for r in requests],
        decline_reason=row.decline_reason, decline_text=row.decline_text, closed=closed,  # type: ignore[arg-type]
        transferred_complaint_id=row.transferred_complaint_id,
        possible_duplicate_here=row.duplicate_at_recipient if side is Side.RECIPIENT else None,
        failure=row.failure if side is Side.SENDER else None,
        receipt_sequence=row.receipt_sequence, receipt_hash=row.receipt_hash, created_at=row.created_at,
        sent_at=row.sent_at, acknowledged_at=row.acknowledged_at, decided_at=row.decided_at,
        updated_at=row.updated_at, version=row.version)


async def get_referral(session: AsyncSession, *, viewer: InstitutionId, referral_id: str,
                       now: datetime) -> ReferralOut:
    return await to_out(session, await visible_referral(session, viewer, referral_id), viewer, now)


async def list_referrals(session: AsyncSession, *, viewer: InstitutionId, page: PageRequest, side: str | None,
                         state: str | None, now: datetime) -> Page[ReferralSummary]:
    rows = await repository.page(session, viewer, page, side=side, state=state)

    def summary(row: Referral) -> ReferralSummary:
        return ReferralSummary(id=row.id, state=row.state, side=side_of(row, viewer).value,  # type: ignore[arg-type]
                               kind=row.kind, purpose=row.purpose,  # type: ignore[arg-type]
                               sender_institution_id=row.sender_institution_id,
                               recipient_institution_id=row.recipient_institution_id,
                               overdue=overdue_of(row, now, _paused(row)),  # type: ignore[arg-type]
                               created_at=row.created_at,
                               updated_at=row.updated_at)

    return repository.NEWEST_FIRST.cut(rows, page, summary)


async def list_transitions(session: AsyncSession, *, viewer: InstitutionId, referral_id: str,
                           page: PageRequest) -> Page[TransitionOut]:
    await visible_referral(session, viewer, referral_id)
    rows = await repository.transitions(session, viewer, referral_id, page)
    return repository.OLDEST_FIRST.cut(rows, page, lambda t: TransitionOut(
        id=t.id, action=t.action, from_state=t.from_state, to_state=t.to_state, actor_side=t.actor_side, at=t.at,
        receipt_sequence=t.receipt_sequence))


# --- sending (the two transactions around intake's call are sending.py's) ----------------------------------


async def by_idempotency_key(session: AsyncSession, viewer: InstitutionId, key: str) -> Referral | None:
    return await repository.by_idempotency_key(session, viewer, key)


async def start_send(session: AsyncSession, *, sender: InstitutionId, complaint_id: str, recipient: str,
                     kind: str, purpose: str, categories: list[str], override: bool, idempotency_key: str | None,
                     request_hash: str, recipient_calendar: dict[str, Any], now: datetime) -> Referral:
    """The referral committed in ``sending`` before intake is asked: its id is the Idempotency-Key intake
    gets, so whatever happens to the call, a retry of this send answers the same disclosure."""
    row = Referral(id=str(uuid.uuid4()), sender_institution_id=sender, recipient_institution_id=recipient,
                   complaint_id=complaint_id, kind=kind, purpose=purpose, categories=sorted(set(categories)),
                   state=State.SENDING.value, consent_overridden=override, idempotency_key=idempotency_key,
                   request_hash=request_hash, recipient_calendar=recipient_calendar, created_at=now,
                   updated_at=now, version=1)
    await repository.add(session, row)
    return row


async def complete_send(session: AsyncSession, ctx: Ctx, *, sender: InstitutionId, referral_id: str,
                        disclosure: dict[str, Any], filing_deadlines: list[dict[str, Any]],
                        duplicate_at_recipient: bool, now: datetime) -> tuple[Referral, bool]:
    """intake froze the disclosure: keep its grant id and digests, count the acknowledgement period,
    attest the hand-over and tell both sides. Returns the referral and whether this call sent it (a
    concurrent retry may have completed it first)."""
    row = await visible_referral(session, sender, referral_id)
    if row.state != State.SENDING.value and row.grant_id == disclosure.get("grant_id"):
        return row, False
    place = row.recipient_calendar or {}
    today = deadlines.today_there(place, now)
    counted = deadlines.count(place, deadlines.ACKNOWLEDGEMENT, today) if today else None
    digests = {str(k): str(v) for k, v in (disclosure.get("digests") or {}).items()}
    values: dict[str, Any] = {
        "grant_id": str(disclosure["grant_id"]), "disclosure_salt": str(disclosure.get("salt") or "") or None,
        "digests": digests, "consent_overridden": disclosure.get("basis") == "override",
        "filing_deadlines": filing_deadlines, "duplicate_at_recipient": duplicate_at_recipient, "sent_at": now,
        "acknowledgement_due": counted.last_day if counted else None,
        "acknowledgement_due_at": counted.due_at if counted else None,
    }
    await _transition(session, ctx, row, actor=sender, action=Action.SEND, now=now, values=values,
                      digests=digests, extra={"grant_id": values["grant_id"],
                                              "acknowledgement_due": values["acknowledgement_due"]})
    if counted is not None:
        await _request_deadline(session, ctx, row, counted, now)
    return row, True


async def fail_send(session: AsyncSession, *, sender: InstitutionId, referral_id: str, failure: dict[str, Any],
                    now: datetime) -> Referral:
    """A send intake refused (no consent, …), or one that never completed: ``failed``, the sender's alone,
    no receipt and no event (nothing was handed over)."""
    row = await visible_referral(session, sender, referral_id)
    domain.decide(State(row.state), Side.SENDER, Action.FAIL)
    changes = {"state": State.FAILED.value, "failure": failure, "updated_at": now}
    if not await repository.move(session, sender, row.id, before=row.state, version=row.version, values=changes):
        raise ChangedMeanwhile("the referral changed meanwhile")
    _moved(row, changes)
    return row


async def stuck_sends(session: AsyncSession, *, before: datetime, limit: int = 50) -> list[tuple[str, str]]:
    return await repository.stuck_sending(session, before=before, limit=limit)


# --- the lifecycle ------------------------------------------------------------------------------------------


async def _transition(session: AsyncSession, ctx: Ctx, row: Referral, *, actor: InstitutionId, action: Action,
                      now: datetime, values: dict[str, Any] | None = None, digests: dict[str, str] | None = None,
                      message_hash: str | None = None, extra: dict[str, Any] | None = None,
                      open_count: int | None = None) -> State:
    """Decide, change the row conditionally, attest, record in the history (a message excepted: it is the
    thread's, ``domain.NOT_IN_HISTORY``), stage the event. Returns the state before."""
    before = State(row.state)
    side = side_of(row, actor)
    if open_count is None and action is Action.PROVIDE_INFORMATION:
        # The only action whose decision depends on the open requests (its caller passes the count).
        open_count = len(await open_requests(session, actor, row))
    decision = domain.decide(before, side, action, closed=closed_sides(row), open_requests=open_count or 0)
    changes = {"state": decision.to.value, "updated_at": now, **(values or {})}
    if not await repository.move(session, actor, row.id, before=before.value, version=row.version, values=changes):
        raise ChangedMeanwhile("the referral changed meanwhile (another action came first): read it again",
                               action=action.value)
    _moved(row, changes)
    head = await receipts.attest(session, ctx.signer, referral=row, transition=TRANSITION_NAMES[action],
                                 actor_institution_id=actor, at=now, digests=digests, message_hash=message_hash)
    row.receipt_sequence, row.receipt_hash = head.sequence, head.hash
    event_id = None
    if decision.event is not None:
        event = await add_event(session, tables, domain.event_of(decision.event, _view(row), now=now,
                                                                 source=ctx.platform.source, extra=extra))
        event_id = event.id
    if action not in domain.NOT_IN_HISTORY:
        await repository.add(session, Transition(
            # Ordered within the referral by its receipt's sequence (two steps of one transaction share ``at``).
            id=f"{row.id[:24]}-{head.sequence:011d}", referral_id=row.id,
            sender_institution_id=row.sender_institution_id, recipient_institution_id=row.recipient_institution_id,
            action=action.value, from_state=before.value, to_state=row.state, actor_institution_id=actor,
            actor_side=side.value, event_id=event_id, receipt_sequence=head.sequence, at=now))
    return before


def _moved(row: Referral, changes: dict[str, Any]) -> None:
    """The loaded row as the conditional UPDATE left it (without a second UPDATE at the next flush)."""
    for name, value in {**changes, "version": row.version + 1}.items():
        set_committed_value(row, name, value)


def _view(row: Referral) -> domain.ReferralView:
    return domain.ReferralView(id=row.id, state=State(row.state), kind=row.kind, purpose=row.purpose,
                               complaint_id=row.complaint_id, sender_institution_id=row.sender_institution_id,
                               recipient_institution_id=row.recipient_institution_id,
                               receipt_sequence=row.receipt_sequence, receipt_hash=row.receipt_hash)


async def acknowledge(session: AsyncSession, ctx: Ctx, *, actor: InstitutionId, referral_id: str,
                      now: datetime) -> ReferralOut:
    row = await visible_referral(session, actor, referral_id)
    place = row.recipient_calendar or {}
    today = deadlines.today_there(place, now)
    counted = deadlines.count(place, deadlines.RESPONSE, today) if today else None
    await _transition(session, ctx, row, actor=actor, action=Action.ACKNOWLEDGE, now=now,
                      values={"acknowledged_at": now, "response_due": counted.last_day if counted else None,
                              "response_due_at": counted.due_at if counted else None},
                      extra={"response_due": counted.last_day if counted else None})
    await _withdraw_deadline(session, ctx, row, deadlines.ACKNOWLEDGEMENT, now, reason="met")
    if counted is not None:
        await _request_deadline(session, ctx, row, counted, now)
    return await to_out(session, row, actor, now)


async def request_information(session: AsyncSession, ctx: Ctx, *, actor: InstitutionId, referral_id: str,
                              question: str, now: datetime) -> InformationRequestOut:
    row = await visible_referral(session, actor, referral_id)
    was_open = len(await open_requests(session, actor, row))
    asked = InformationRequest(id=str(uuid.uuid4()), referral_id=row.id,
                               sender_institution_id=row.sender_institution_id,
                               recipient_institution_id=row.recipient_institution_id, question=question, asked_at=now)
    place = row.recipient_calendar or {}
    today = deadlines.today_there(place, now)
    values: dict[str, Any] = {}
    if was_open == 0 and today is not None and row.response_due is not None:
        # The response period stops while the recipient waits for what it asked.
        values["response_pauses"] = [*row.response_pauses, [today.isoformat(), None]]
    await _transition(session, ctx, row, actor=actor, action=Action.REQUEST_INFORMATION, now=now, values=values,
                      extra={"information_request_id": asked.id}, open_count=was_open)
    await repository.add(session, asked)
    if values and today is not None:
        await _pause_deadline(session, ctx, row, today, now)
    return _request_out(asked)


async def provide_information(session: AsyncSession, ctx: Ctx, *, actor: InstitutionId, row: Referral,
                              information_request_id: str, message_id: str, message_hash: str,
                              now: datetime) -> InformationRequestOut:
    """The sender answered a request for information in the thread (``message_id``); ``row`` is the
    referral the thread already read as ``actor``."""
    still_open = await open_requests(session, actor, row)
    domain.decide(State(row.state), side_of(row, actor), Action.PROVIDE_INFORMATION, closed=closed_sides(row),
                  open_requests=len(still_open))
    asked = next((r for r in still_open if r.id == information_request_id), None)
    if asked is None:
        raise NotFound("no such open request for information", slug="information-request-not-found")
    place = row.recipient_calendar or {}
    today = deadlines.today_there(place, now)
    values: dict[str, Any] = {}
    resumed = len(still_open) == 1 and row.response_pauses and row.response_pauses[-1][1] is None
    if resumed and today is not None:
        pauses = [list(p) for p in row.response_pauses]
        if pauses[-1][0] == today.isoformat():
            pauses.pop()  # asked and answered the same day: not a day was lost
        else:
            pauses[-1][1] = today.isoformat()
        counted = deadlines.count(place, deadlines.RESPONSE, _ack_day(row), pauses=pauses)
        values = {"response_pauses": pauses, "response_due": counted.last_day if counted else row.response_due,
                  "response_due_at": counted.due_at if counted else row.response_due_at}
    await _transition(session, ctx, row, actor=actor, action=Action.PROVIDE_INFORMATION, now=now, values=values,
                      message_hash=message_hash, extra={"information_request_id": asked.id},
                      open_count=len(still_open))
    asked.answered_at, asked.answer_message_id, asked.closed_by = now, message_id, "answer"
    await session.flush()
    if resumed and today is not None:
        await _resume_deadline(session, ctx, row, today, now)
    return _request_out(asked)


def _ack_day(row: Referral) -> date:
    place = row.recipient_calendar or {}
    found = deadlines.today_there(place, row.acknowledged_at) if row.acknowledged_at else None
    assert found is not None
    return found


def _request_out(row: InformationRequest) -> InformationRequestOut:
    return InformationRequestOut(id=row.id, question=row.question, asked_at=row.asked_at,
                                 answered_at=row.answered_at, answer_message_id=row.answer_message_id,
                                 closed_by=row.closed_by)


async def check_acceptable(session: AsyncSession, *, actor: InstitutionId, referral_id: str) -> Referral:
    """Whether the caller may accept now (checked before a transfer asks intake for anything)."""
    row = await visible_referral(session, actor, referral_id)
    domain.decide(State(row.state), side_of(row, actor), Action.ACCEPT, closed=closed_sides(row))
    return row


async def accept(session: AsyncSession, ctx: Ctx, *, actor: InstitutionId, referral_id: str,
                 transferred_complaint_id: str | None, now: datetime) -> ReferralOut:
    row = await visible_referral(session, actor, referral_id)
    await _transition(session, ctx, row, actor=actor, action=Action.ACCEPT, now=now,
                      values={"decided_at": now, "transferred_complaint_id": transferred_complaint_id},
                      extra={"transferred_complaint_id": transferred_complaint_id})
    requests = await _end(session, ctx, row, actor, Action.ACCEPT, now)
    return await to_out(session, row, actor, now, requests=requests)


async def decline(session: AsyncSession, ctx: Ctx, *, actor: InstitutionId, referral_id: str, reason: str,
                  text: str | None, now: datetime) -> ReferralOut:
    row = await visible_referral(session, actor, referral_id)
    await _transition(session, ctx, row, actor=actor, action=Action.DECLINE, now=now,
                      values={"decided_at": now, "decline_reason": reason, "decline_text": text},
                      extra={"reason_code": reason})
    requests = await _end(session, ctx, row, actor, Action.DECLINE, now)
    return await to_out(session, row, actor, now, requests=requests)


async def withdraw(session: AsyncSession, ctx: Ctx, *, actor: InstitutionId, referral_id: str,
                   now: datetime) -> ReferralOut:
    row = await visible_referral(session, actor, referral_id)
    await _transition(session, ctx, row, actor=actor, action=Action.WITHDRAW, now=now, values={"decided_at": now})
    requests = await _end(session, ctx, row, actor, Action.WITHDRAW, now)
    return await to_out(session, row, actor, now, requests=requests)


async def close(session: AsyncSession, ctx: Ctx, *, actor: InstitutionId, referral_id: str, outcome: str,
                now: datetime) -> ReferralOut:
    row = await visible_referral(session, actor, referral_id)
    side = side_of(row, actor)
    values = ({"sender_closed_at": now, "sender_outcome": outcome} if side is Side.SENDER
              else {"recipient_closed_at": now, "recipient_outcome": outcome})
    await _transition(session, ctx, row, actor=actor, action=Action.CLOSE, now=now, values=values,
                      extra={"side": side.value, "outcome": outcome})
    return await to_out(session, row, actor, now)


async def message_posted(session: AsyncSession, ctx: Ctx, *, actor: InstitutionId, row: Referral,
                         message_id: str, message_hash: str, now: datetime) -> Referral:
    """A side posted a message in the thread: attested and announced (its hash, never its text); ``row``
    is the referral the thread already read as ``actor``."""
    side = side_of(row, actor)
    await _transition(session, ctx, row, actor=actor, action=Action.POST_MESSAGE, now=now,
                      message_hash=message_hash,
                      extra={"message_id": message_id, "author": side.value, "message_hash": message_hash})
    return row


def check_can_post(row: Referral, actor: InstitutionId) -> Side:
    side = side_of(row, actor)
    domain.decide(State(row.state), side, Action.POST_MESSAGE, closed=closed_sides(row))
    return side


async def _end(session: AsyncSession, ctx: Ctx, row: Referral, actor: InstitutionId, action: Action,
               now: datetime) -> list[InformationRequest]:
    """A referral that ends answers its open requests for information and stops its deadlines: met when
    the recipient answered (accept, decline), withdrawn when the sender withdrew. Returns all its
    information requests (as ``to_out`` shows them)."""
    requests = await repository.information_requests(session, actor, row.id)
    for asked in requests:
        if asked.closed_by is None:
            asked.closed_by = TRANSITION_NAMES[action]
    met = action is not Action.WITHDRAW
    if row.acknowledged_at is None:
        await _withdraw_deadline(session, ctx, row, deadlines.ACKNOWLEDGEMENT, now, reason="met" if met else "withdrawn")
    else:
        await _withdraw_deadline(session, ctx, row, deadlines.RESPONSE, now, reason="met" if met else "withdrawn")
    await session.flush()
    return requests


# --- deadlines: events to notifications -----------------------------------------------------------------------


def deadline_key(row: Referral, period: str) -> str:
    return f"referral:{row.id}:{period}"


async def _request_deadline(session: AsyncSession, ctx: Ctx, row: Referral, counted: deadlines.Counted,
                            now: datetime) -> None:
    """``comitas.deadline.requested`` to the recipient (who must answer) and the sender (who follows up),
    with the counting rule, so notifications counts the same last day and applies the pauses itself. The
    title names the recipient as the directory read model knows it now (both sides read it)."""
    place = row.recipient_calendar or {}
    closures = [DirectoryClosure(day=date.fromisoformat(str(c["day"])), name=str(c.get("name") or "closure"),
                                 until=date.fromisoformat(str(c["until"])) if c.get("until") else None,
                                 source=c.get("source"))
                for c in place.get("closures") or [] if c.get("day")]
    counting = DeadlineCounting(
        start=counted.start, amount=counted.amount, unit=counted.unit,  # type: ignore[arg-type]
        calendar=DeadlineCalendar(country=place.get("country"), subdivision=place.get("subdivision"),
                                  time_zone=counted.time_zone, closures=closures),
        from_day_after=True, move_off_non_working="none")
    recipient = await directory.entry(session, row.recipient_institution_id)
    title = deadlines.title(row.id, counted.period, recipient.name if recipient is not None else None)
    for institution in (row.recipient_institution_id, row.sender_institution_id):
        await add_event(session, tables, DEADLINE_REQUESTED.build(
            source=ctx.platform.source, subject=row.id, institution_id=institution, time=now,
            data=DeadlineRequested(
                deadline_key=deadline_key(row, counted.period), institution_id=institution,
                kind=f"referral_{counted.period}", title=title,
                case_ref=row.id, case_kind="referral", last_day=counted.last_day, time_zone=counted.time_zone,
                due_at=counted.due_at, calendar=counted.calendar[:500], hard=False,
                rule={"provision": f"the recipient's {counted.period} period ({counted.amount} "
                                   f"{counted.unit.replace('_', ' ')}), its directory entry",
                      "source": "identity's institutions directory", "status": "confirmed"},
                counting=counting, holidays_version=counted.holidays_version)))


async def _withdraw_deadline(session: AsyncSession, ctx: Ctx, row: Referral, period: str, now: datetime, *,
                             reason: str) -> None:
    if deadlines.why_not(row.recipient_calendar or {}, period) is not None:
        return
    for institution in (row.recipient_institution_id, row.sender_institution_id):
        await add_event(session, tables, DEADLINE_WITHDRAWN.build(
            source=ctx.platform.source, subject=row.id, institution_id=institution, time=now,
            data=DeadlineWithdrawn(deadline_key=deadline_key(row, period), institution_id=institution,
                                   reason=reason)))  # type: ignore[arg-type]


async def _pause_deadline(session: AsyncSession, ctx: Ctx, row: Referral, today: date, now: datetime) -> None:
    for institution in (row.recipient_institution_id, row.sender_institution_id):
        await add_event(session, tables, DEADLINE_PAUSED.build(
            source=ctx.platform.source, subject=row.id, institution_id=institution, time=now,
            data=DeadlinePaused(deadline_key=deadline_key(row, deadlines.RESPONSE), institution_id=institution,
                                paused_on=today, reason="the recipient asked the sender for more information")))


async def _resume_deadline(session: AsyncSession, ctx: Ctx, row: Referral, today: date, now: datetime) -> None:
    for institution in (row.recipient_institution_id, row.sender_institution_id):
        await add_event(session, tables, DEADLINE_RESUMED.build(
            source=ctx.platform.source, subject=row.id, institution_id=institution, time=now,
            data=DeadlineResumed(deadline_key=deadline_key(row, deadlines.RESPONSE), institution_id=institution,
                                 resumed_on=today)))


# --- what intake tells: the disclosure no longer readable -------------------------------------------------------


async def disclosure_revoked(session: AsyncSession, ctx: Ctx, *, sender: InstitutionId, grant_ids: list[str],
                             complaint_id: str | None, cause: str, now: datetime) -> list[Referral]:
    """Marks the sender's delivered referrals on these grants (or of this complaint) as resting on a
    disclosure that is gone, and tells their recipients (and senders) by event. Returns those newly
    marked, for the thread's system messages."""
    rows = (await repository.by_grants(session, sender, grant_ids) if grant_ids
            else await repository.of_complaint(session, sender, complaint_id or ""))
    marked = []
    for row in rows:
        if row.grant_id is None or row.disclosure_revoked is not None or row.state in (State.SENDING, State.FAILED):
            continue
        row.disclosure_revoked, row.updated_at = cause, now
        await add_event(session, tables, domain.event_of(REFERRAL_DISCLOSURE_REVOKED, _view(row), now=now,
                                                         source=ctx.platform.source,
                                                         extra={"grant_id": row.grant_id, "cause": cause}))
        marked.append(row)
    await session.flush()
    return marked
