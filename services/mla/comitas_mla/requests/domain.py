"""Pure decisions about MLA requests: who may do what in which state, and the events each step emits.

No session, clock, network or environment: every function takes plain values and an explicit ``now``.
The lifecycle::

    draft ─issue→ issued ─acknowledge→ acknowledged ─recognise→ recognised ─return_result→ in_execution
                                        │  ↑                      │                          │
                     request_clarification  clarify               └────────execute───────────┴→ executed
                                        ↓  │
                              clarification_requested ⇄ clarified ─recognise→ recognised

    refuse (requested side, any open state) → refused       withdraw (requesting side) → withdrawn
    postpone (requested side) → postponed ─resume→ the state it was postponed from

Actions that leave the state as it is: edit and translate (a draft), extend_recognition (EIO
Art 12(5)), consult_on_execution (Art 12(6)), request_status and answer_status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from comitas_shared import randomness
from comitas_shared.errors import InvalidInput, InvalidTransition
from comitas_shared.events.catalogue import (
    MLA_ACKNOWLEDGED,
    MLA_CLARIFICATION_REQUESTED,
    MLA_CLARIFIED,
    MLA_EXECUTED,
    MLA_EXECUTION_CONSULTED,
    MLA_ISSUED,
    MLA_POSTPONED,
    MLA_RECOGNISED,
    MLA_RECOGNITION_EXTENDED,
    MLA_REFUSED,
    MLA_RESULT_RETURNED,
    MLA_RESUMED,
    MLA_STATUS_ANSWERED,
    MLA_STATUS_REQUESTED,
    MLA_WITHDRAWN,
    EventType,
)
from comitas_shared.events.envelope import CloudEvent

from ..legal_bases.schemas import BasisRules


class State(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    CLARIFICATION_REQUESTED = "clarification_requested"
    CLARIFIED = "clarified"
    RECOGNISED = "recognised"
    IN_EXECUTION = "in_execution"
    EXECUTED = "executed"
    REFUSED = "refused"
    POSTPONED = "postponed"
    WITHDRAWN = "withdrawn"


class Role(StrEnum):
    REQUESTING = "requesting"
    REQUESTED = "requested"


class Action(StrEnum):
    EDIT = "edit"
    TRANSLATE = "translate"
    ISSUE = "issue"
    ACKNOWLEDGE = "acknowledge"
    REQUEST_CLARIFICATION = "request_clarification"
    CLARIFY = "clarify"
    RECOGNISE = "recognise"
    RETURN_RESULT = "return_result"
    EXECUTE = "execute"
    REFUSE = "refuse"
    POSTPONE = "postpone"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    EXTEND_RECOGNITION = "extend_recognition"
    CONSULT_ON_EXECUTION = "consult_on_execution"
    REQUEST_STATUS = "request_status"
    ANSWER_STATUS = "answer_status"


TERMINAL: frozenset[State] = frozenset({State.EXECUTED, State.REFUSED, State.WITHDRAWN})
OPEN: frozenset[State] = frozenset(State) - TERMINAL - {State.DRAFT}
BEFORE_RECOGNITION: frozenset[State] = frozenset({State.ISSUED, State.ACKNOWLEDGED, State.CLARIFICATION_REQUESTED,
                                                  State.CLARIFIED})
POSTPONABLE: frozenset[State] = frozenset({State.ACKNOWLEDGED, State.CLARIFIED, State.RECOGNISED, State.IN_EXECUTION})


@dataclass(frozen=True)
class Rule:
    """Who may take an action, from which states, and the state it leads to (``None``: unchanged;
    ``resume`` leads back to the state the request was postponed from)."""

    role: Role
    from_states: frozenset[State]
    to: State | None


RULES: dict[Action, Rule] = {
    Action.EDIT: Rule(Role.REQUESTING, frozenset({State.DRAFT}), None),
    Action.TRANSLATE: Rule(Role.REQUESTING, frozenset({State.DRAFT}) | OPEN, None),
    Action.ISSUE: Rule(Role.REQUESTING, frozenset({State.DRAFT}), State.ISSUED),
    Action.ACKNOWLEDGE: Rule(Role.REQUESTED, frozenset({State.ISSUED}), State.ACKNOWLEDGED),
    Action.REQUEST_CLARIFICATION: Rule(Role.REQUESTED, frozenset({State.ACKNOWLEDGED, State.CLARIFIED}),
                                       State.CLARIFICATION_REQUESTED),
    Action.CLARIFY: Rule(Role.REQUESTING, frozenset({State.CLARIFICATION_REQUESTED}), State.CLARIFIED),
    Action.RECOGNISE: Rule(Role.REQUESTED, frozenset({State.ACKNOWLEDGED, State.CLARIFIED}), State.RECOGNISED),
    Action.RETURN_RESULT: Rule(Role.REQUESTED, frozenset({State.RECOGNISED, State.IN_EXECUTION}), State.IN_EXECUTION),
    Action.EXECUTE: Rule(Role.REQUESTED, frozenset({State.RECOGNISED, State.IN_EXECUTION}), State.EXECUTED),
    Action.REFUSE: Rule(Role.REQUESTED, OPEN, State.REFUSED),
    Action.POSTPONE: Rule(Role.REQUESTED, POSTPONABLE, State.POSTPONED),
    Action.RESUME: Rule(Role.REQUESTED, frozenset({State.POSTPONED}), None),
    Action.WITHDRAW: Rule(Role.REQUESTING, OPEN, State.WITHDRAWN),
    Action.EXTEND_RECOGNITION: Rule(Role.REQUESTED, BEFORE_RECOGNITION, None),
    Action.CONSULT_ON_EXECUTION: Rule(Role.REQUESTED, frozenset({State.RECOGNISED, State.IN_EXECUTION}), None),
    Action.REQUEST_STATUS: Rule(Role.REQUESTING, OPEN, None),
    Action.ANSWER_STATUS: Rule(Role.REQUESTED, OPEN | TERMINAL, None),
}

_ROLE_NAMES = {Role.REQUESTING: "the requesting authority", Role.REQUESTED: "the requested authority"}


def decide(state: State, role: Role, action: Action, *, postponed_from: State | None = None) -> State:
    """The state after ``role`` takes ``action`` on a request in ``state``, or :class:`InvalidTransition`."""
    rule = RULES[action]
    if role is not rule.role:
        raise InvalidTransition(f"only {_ROLE_NAMES[rule.role]} may {action.value.replace('_', ' ')} a request",
                                slug="not-this-partys-action", title="Not this party's action",
                                action=action.value, role=role.value)
    if state not in rule.from_states:
        raise InvalidTransition(
            f"a request that is {state.value.replace('_', ' ')} cannot be {_participle(action)}",
            action=action.value, state=state.value, allowed_from=sorted(s.value for s in rule.from_states))
    if action is Action.RESUME:
        if postponed_from is None or postponed_from not in POSTPONABLE:
            raise InvalidTransition("the state this request was postponed from is not known", action=action.value,
                                    state=state.value)
        return postponed_from
    return rule.to if rule.to is not None else state


def _participle(action: Action) -> str:
    return {
        Action.EDIT: "edited", Action.TRANSLATE: "given a translation", Action.ISSUE: "issued",
        Action.ACKNOWLEDGE: "acknowledged", Action.REQUEST_CLARIFICATION: "sent a request for clarification",
        Action.CLARIFY: "clarified", Action.RECOGNISE: "recognised", Action.RETURN_RESULT: "given a result",
        Action.EXECUTE: "executed", Action.REFUSE: "refused", Action.POSTPONE: "postponed",
        Action.RESUME: "resumed", Action.WITHDRAW: "withdrawn",
        Action.EXTEND_RECOGNITION: "given a longer recognition period",
        Action.CONSULT_ON_EXECUTION: "consulted on its execution", Action.REQUEST_STATUS: "asked about",
        Action.ANSWER_STATUS: "answered about",
    }[action]


def role_of(viewer: str, *, requesting_institution_id: str, requested_institution_id: str) -> Role:
    """The viewer's side of a request it can see."""
    return Role.REQUESTING if viewer == requesting_institution_id else Role.REQUESTED


# --- checks the law makes on an action -----------------------------------------------------------------


def check_refusal(rules: BasisRules, grounds: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Each cited ground as stored (code, text, provision); a ground the basis does not list is 422."""
    if not grounds:
        raise InvalidInput("a refusal cites at least one ground of the basis", slug="refusal-ground-required")
    cited: list[dict[str, str]] = []
    unknown = [code for code, _ in grounds if rules.ground(code) is None]
    if unknown:
        raise InvalidInput(
            f"{', '.join(unknown)}: not a ground for refusal under {rules.short_name}",
            slug="refusal-ground-not-in-basis", title="Not a ground of the legal basis",
            allowed=[g.code for g in rules.refusal_grounds])
    for code, text in grounds:
        ground = rules.ground(code)
        assert ground is not None
        cited.append({"code": code, "text": text, "provision": ground.provision, "ground": ground.text})
    return cited


def check_postponement(until: date, today: date) -> None:
    if until <= today:
        raise InvalidInput(f"a postponement lasts until a day after today ({today.isoformat()})",
                           slug="postponement-in-the-past")


def check_extension_allowed(rules: BasisRules) -> None:
    limit = rules.time_limit("recognition")
    if limit is None or limit.extension is None:
        raise InvalidTransition(f"{rules.short_name} has no recognition period that may be extended",
                                slug="no-extension-under-basis", title="No extension under this basis")


def check_consultation_allowed(rules: BasisRules) -> None:
    limit = rules.time_limit("execution")
    if limit is None or limit.impracticable is None:
        raise InvalidTransition(f"{rules.short_name} has no execution time limit to consult on",
                                slug="no-consultation-under-basis", title="No consultation under this basis")


def check_issuable(complete: bool, missing: Sequence[dict[str, str]], problems: Sequence[str]) -> None:
    if not complete:
        raise InvalidTransition(
            "the request lacks what its legal basis requires: " + "; ".join(
                [f"{m['label']} ({m['provision']})" for m in missing] + list(problems)),
            slug="request-incomplete", title="Request incomplete", missing=list(missing), basis_problems=list(problems))


# --- the request's reference and its events -------------------------------------------------------------

# Crockford's alphabet: no I, L, O, U, so a reference read over the phone is not misheard.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(now: datetime) -> str:
    code = "".join(randomness.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"MLA-{now.year}-{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class RequestView:
    """What an event may say about a request."""

    id: str
    reference: str
    state: State
    basis: str
    requesting_institution_id: str
    requested_institution_id: str
    requesting_state: str
    requested_state: str
    confidential: bool
    assistance: tuple[str, ...]

    @property
    def concerns(self) -> tuple[str, str]:
        return (self.requesting_institution_id, self.requested_institution_id)


EVENTS: dict[Action, EventType] = {
    Action.ISSUE: MLA_ISSUED,
    Action.ACKNOWLEDGE: MLA_ACKNOWLEDGED,
    Action.REQUEST_CLARIFICATION: MLA_CLARIFICATION_REQUESTED,
    Action.CLARIFY: MLA_CLARIFIED,
    Action.RECOGNISE: MLA_RECOGNISED,
    Action.RETURN_RESULT: MLA_RESULT_RETURNED,
    Action.EXECUTE: MLA_EXECUTED,
    Action.REFUSE: MLA_REFUSED,
    Action.POSTPONE: MLA_POSTPONED,
    Action.RESUME: MLA_RESUMED,
    Action.WITHDRAW: MLA_WITHDRAWN,
    Action.EXTEND_RECOGNITION: MLA_RECOGNITION_EXTENDED,
    Action.CONSULT_ON_EXECUTION: MLA_EXECUTION_CONSULTED,
    Action.REQUEST_STATUS: MLA_STATUS_REQUESTED,
    Action.ANSWER_STATUS: MLA_STATUS_ANSWERED,
}


def event_for(action: Action, request: RequestView, *, now: datetime, source: str,
              extra: dict[str, Any] | None = None) -> CloudEvent | None:
    """The event ``action`` emits (none for editing a draft), concerning both authorities. A confidential
    request's event says only its id and state: ``extra`` and the request's particulars are left out."""
    entry = EVENTS.get(action)
    if entry is None:
        return None
    fields: dict[str, Any] = {"request_id": request.id, "state": request.state.value}
    if not request.confidential:
        fields |= {
            "reference": request.reference, "basis": request.basis,
            "requesting_institution_id": request.requesting_institution_id,
            "requested_institution_id": request.requested_institution_id,
            "requesting_state": request.requesting_state, "requested_state": request.requested_state,
            "assistance": list(request.assistance), **(extra or {}),
        }
    # The owner travels as the envelope's ``institutionid``, except for a confidential request: the event
    # still concerns both authorities (``concerns``, never on webhooks), but names neither.
    owner = None if request.confidential else request.requesting_institution_id
    return entry.build(source=source, subject=request.id, institution_id=owner, data=entry.data(**fields), time=now,
                       concerns=request.concerns)
