"""Pure decisions about referrals: which side may do what in which state, the state it leads to, and the
event it emits. No session, clock, network or environment: plain values and an explicit ``now``.

The lifecycle (Primero's referral states and the European Ombudsman's transfer practice)::

    sending ─send→ sent ─acknowledge→ acknowledged ─accept→ accepted
       │            │                    │   ↑ request_information / provide_information (state kept;
       fail         ├─decline────────────┴→ declined      the response period pauses while one is open)
       ↓            └─withdraw (sender)──┴→ withdrawn
     failed

    close: each side closes its own side of an accepted, declined or withdrawn referral, once.
    post_message: either side, once the referral is sent, until it closed its side.

Overdue is derived, not a state: a referral not acknowledged by its acknowledgement due date (or not
answered by its response due date, no information request open) is overdue, and stays answerable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from comitas_shared.errors import InvalidInput, InvalidTransition
from comitas_shared.events.catalogue import (
    REFERRAL_ACCEPTED,
    REFERRAL_ACKNOWLEDGED,
    REFERRAL_CLOSED,
    REFERRAL_DECLINED,
    REFERRAL_INFORMATION_PROVIDED,
    REFERRAL_INFORMATION_REQUESTED,
    REFERRAL_MESSAGE_POSTED,
    REFERRAL_SENT,
    REFERRAL_WITHDRAWN,
    EventType,
)
from comitas_shared.events.envelope import CloudEvent


class State(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"


class Side(StrEnum):
    SENDER = "sender"
    RECIPIENT = "recipient"


class Action(StrEnum):
    SEND = "send"
    FAIL = "fail"
    ACKNOWLEDGE = "acknowledge"
    REQUEST_INFORMATION = "request_information"
    PROVIDE_INFORMATION = "provide_information"
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    CLOSE = "close"
    POST_MESSAGE = "post_message"


class Kind(StrEnum):
    REFERRAL = "referral"
    TRANSFER = "transfer"


class Purpose(StrEnum):
    """What the recipient is asked to do (intake's consent purposes of the same names)."""

    INVESTIGATE = "investigate"
    LEGAL_AID = "legal_aid"
    FILE_WITH_MECHANISM = "file_with_mechanism"
    FOR_INFORMATION = "for_information"


class DeclineReason(StrEnum):
    """Why a recipient declines (the European Ombudsman's and NHRIs' usual grounds); the text says more."""

    OUTSIDE_MANDATE = "outside_mandate"
    OUTSIDE_TERRITORY = "outside_territory"
    ALREADY_HANDLED = "already_handled"
    PENDING_ELSEWHERE = "pending_elsewhere"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    TIME_BARRED = "time_barred"
    NO_CAPACITY = "no_capacity"
    CONSENT_MISSING = "consent_missing"
    OTHER = "other"


class Outcome(StrEnum):
    """What a side records when it closes its side."""

    RESOLVED = "resolved"
    TAKEN_UP = "taken_up"
    HANDLED_ELSEWHERE = "handled_elsewhere"
    NO_FURTHER_ACTION = "no_further_action"
    WITHDRAWN = "withdrawn"
    OTHER = "other"


DELIVERED: frozenset[State] = frozenset({State.SENT, State.ACKNOWLEDGED, State.ACCEPTED, State.DECLINED,
                                         State.WITHDRAWN})
ENDED: frozenset[State] = frozenset({State.ACCEPTED, State.DECLINED, State.WITHDRAWN})
OPEN: frozenset[State] = frozenset({State.SENT, State.ACKNOWLEDGED})


@dataclass(frozen=True)
class Rule:
    """Who may take an action (``None``: either side), from which states, and the state it leads to
    (``None``: unchanged)."""

    side: Side | None
    from_states: frozenset[State]
    to: State | None


RULES: dict[Action, Rule] = {
    Action.SEND: Rule(Side.SENDER, frozenset({State.SENDING}), State.SENT),
    Action.FAIL: Rule(Side.SENDER, frozenset({State.SENDING}), State.FAILED),
    Action.ACKNOWLEDGE: Rule(Side.RECIPIENT, frozenset({State.SENT}), State.ACKNOWLEDGED),
    Action.REQUEST_INFORMATION: Rule(Side.RECIPIENT, frozenset({State.ACKNOWLEDGED}), None),
    Action.PROVIDE_INFORMATION: Rule(Side.SENDER, frozenset({State.ACKNOWLEDGED}), None),
    Action.ACCEPT: Rule(Side.RECIPIENT, frozenset({State.ACKNOWLEDGED}), State.ACCEPTED),
    Action.DECLINE: Rule(Side.RECIPIENT, OPEN, State.DECLINED),
    Action.WITHDRAW: Rule(Side.SENDER, OPEN, State.WITHDRAWN),
    Action.CLOSE: Rule(None, ENDED, None),
    Action.POST_MESSAGE: Rule(None, DELIVERED, None),
}

EVENTS: dict[Action, EventType] = {
    Action.SEND: REFERRAL_SENT,
    Action.ACKNOWLEDGE: REFERRAL_ACKNOWLEDGED,
    Action.REQUEST_INFORMATION: REFERRAL_INFORMATION_REQUESTED,
    Action.PROVIDE_INFORMATION: REFERRAL_INFORMATION_PROVIDED,
    Action.ACCEPT: REFERRAL_ACCEPTED,
    Action.DECLINE: REFERRAL_DECLINED,
    Action.WITHDRAW: REFERRAL_WITHDRAWN,
    Action.CLOSE: REFERRAL_CLOSED,
    Action.POST_MESSAGE: REFERRAL_MESSAGE_POSTED,
}

# Actions that are not steps of the referral's history (``GET .../transitions``): a message is the thread's
# (its row there), attested by its own receipt and announced by its event; recorded as a transition it
# read as a change of state to the same state ("sent → sent" beside the send that carried it).
NOT_IN_HISTORY: frozenset[Action] = frozenset({Action.POST_MESSAGE})

_SIDE_NAMES = {Side.SENDER: "the sending institution", Side.RECIPIENT: "the receiving institution"}
_PARTICIPLES = {
    Action.SEND: "sent", Action.FAIL: "marked failed", Action.ACKNOWLEDGE: "acknowledged",
    Action.REQUEST_INFORMATION: "asked for information", Action.PROVIDE_INFORMATION: "given information",
    Action.ACCEPT: "accepted", Action.DECLINE: "declined", Action.WITHDRAW: "withdrawn", Action.CLOSE: "closed",
    Action.POST_MESSAGE: "written to",
}


@dataclass(frozen=True)
class Decision:
    to: State
    event: EventType | None


def decide(state: State, side: Side, action: Action, *, closed: frozenset[Side] = frozenset(),
           open_requests: int = 0) -> Decision:
    """The state after ``side`` takes ``action`` on a referral in ``state``, and the event it emits;
    :class:`InvalidTransition` (409) when it may not. ``closed`` names the sides that closed their side;
    ``open_requests`` counts the information requests still open."""
    rule = RULES[action]
    if rule.side is not None and side is not rule.side:
        raise InvalidTransition(f"only {_SIDE_NAMES[rule.side]} may do this ({action.value})",
                                slug="not-this-sides-action", title="Not this side's action",
                                action=action.value, side=side.value)
    if state not in rule.from_states:
        raise InvalidTransition(f"a referral that is {state.value} cannot be {_PARTICIPLES[action]}",
                                action=action.value, state=state.value,
                                allowed_from=sorted(s.value for s in rule.from_states))
    if action in (Action.CLOSE, Action.POST_MESSAGE) and side in closed:
        raise InvalidTransition(f"{_SIDE_NAMES[side]} closed its side of this referral",
                                slug="side-closed", title="Side closed", action=action.value, side=side.value)
    if action is Action.PROVIDE_INFORMATION and open_requests < 1:
        raise InvalidTransition("no request for information is open", slug="no-open-information-request",
                                title="No open request for information", action=action.value)
    return Decision(rule.to if rule.to is not None else state, EVENTS.get(action))


def side_of(viewer: str, *, sender_institution_id: str, recipient_institution_id: str) -> Side:
    """The viewer's side of a referral it can see."""
    return Side.SENDER if viewer == sender_institution_id else Side.RECIPIENT


def check_new(*, sender: str, recipient: str, kind: Kind, purpose: Purpose, accepts_referrals: bool,
              active: bool, kinds: tuple[str, ...], purposes: tuple[str, ...], override_reason: str | None,
              categories: tuple[str, ...]) -> None:
    """A referral the recipient's directory entry allows (422 otherwise, before anything is sent)."""
    if sender == recipient:
        raise InvalidInput("a referral goes to another institution", slug="referral-to-self",
                           pointer="/recipient_institution_id")
    if not active or not accepts_referrals:
        raise InvalidInput(f"{recipient} does not take referred cases (its directory entry)",
                           slug="recipient-not-accepting", pointer="/recipient_institution_id")
    if kinds and kind.value not in kinds:
        raise InvalidInput(f"{recipient} takes {', '.join(kinds)}, not {kind.value}", slug="kind-not-accepted",
                           pointer="/kind")
    if purposes and purpose.value not in purposes:
        raise InvalidInput(f"{recipient} may be asked to {', '.join(purposes)}, not {purpose.value}",
                           slug="purpose-not-accepted", pointer="/purpose")
    if not categories:
        raise InvalidInput("name at least one data category to share", slug="no-categories", pointer="/categories")
    if override_reason is not None and not override_reason.strip():
        raise InvalidInput("an override states its reason", slug="override-reason-required",
                           pointer="/override_reason")


def overdue(state: State, now: datetime, *, acknowledgement_due_at: datetime | None,
            response_due_at: datetime | None, open_requests: int) -> str | None:
    """Which answer is late, if any: ``acknowledgement`` or ``response`` (never while information the
    recipient asked for is awaited)."""
    if state is State.SENT and acknowledgement_due_at is not None and now > acknowledgement_due_at:
        return "acknowledgement"
    if (state is State.ACKNOWLEDGED and open_requests == 0 and response_due_at is not None
            and now > response_due_at):
        return "response"
    return None


@dataclass(frozen=True)
class ReferralView:
    """What an event may say about a referral: ids, states and codes, never data or free text."""

    id: str
    state: State
    kind: str
    purpose: str
    complaint_id: str
    sender_institution_id: str
    recipient_institution_id: str
    receipt_sequence: int | None
    receipt_hash: str | None

    @property
    def concerns(self) -> tuple[str, str]:
        return (self.sender_institution_id, self.recipient_institution_id)


def event_of(entry: EventType, referral: ReferralView, *, now: datetime, source: str,
             extra: dict[str, Any] | None = None, concerns: tuple[str, ...] | None = None) -> CloudEvent:
    """The event, concerning both institutions (or ``concerns``), owned by the sender."""
    fields: dict[str, Any] = {
        "referral_id": referral.id, "state": referral.state.value, "kind": referral.kind,
        "purpose": referral.purpose, "complaint_id": referral.complaint_id,
        "sender_institution_id": referral.sender_institution_id,
        "recipient_institution_id": referral.recipient_institution_id,
        "receipt_sequence": referral.receipt_sequence, "receipt_hash": referral.receipt_hash, **(extra or {})}
    data = entry.data(**fields)
    return entry.build(source=source, subject=referral.id, institution_id=referral.sender_institution_id,
                       data=data, time=now, concerns=concerns or referral.concerns)
