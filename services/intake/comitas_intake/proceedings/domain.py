"""Pure decisions about a filing's proceedings: no session, no clock, no NATS.

- a step of the body's procedure (:func:`record_step`) opens the time limits its rule gives (counted
  from the step's day) or that the body set in its letter (the officer enters the day), and meets the
  open limits it answers; each opened limit is a ``comitas.deadline.requested`` (stable key per filing
  and limit, so a moved day replaces its timer) and each met one a ``comitas.deadline.withdrawn``;
- interim measures (:data:`INTERIM`, :func:`interim_transition`): requested (through a channel the
  body takes: never e-mail for the ECtHR's Rule 39), granted or refused, extended, lifted; exhaustively
  tabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from comitas_shared.errors import InvalidTransition
from comitas_shared.events.envelope import CloudEvent

from ..case_deadlines import add_period, deadline_met, deadline_requested, invalid_input
from .rules import Limit, Procedure


@dataclass(frozen=True)
class OpenedLimit:
    limit: Limit
    last_day: date


@dataclass(frozen=True)
class StepDecision:
    opened: tuple[OpenedLimit, ...]
    met: tuple[str, ...]
    events: tuple[CloudEvent, ...]


# A body's proceedings begin once the filing is lodged (interim measures may be asked before).
FILED = frozenset({"filed", "registered", "decided"})


def record_step(procedure: Procedure, *, filing_status: str, kind: str, on: date, today: date,
                set_days: dict[str, date],
                open_limits: Iterable[str], filing_id: str, complaint_id: str, institution_id: str,
                mechanism: str, concerns: list[str] | None, now: datetime, source: str) -> StepDecision:
    """What a step of ``kind`` on ``on`` opens and meets. 422 for a step the procedure does not have, a day
    in the future, a limit set by the body without its day (``set_days[deadline]``), or a day given for a
    limit the step does not open; 409 before the filing is lodged (or once it was rejected or withdrawn)."""
    if filing_status not in FILED:
        raise InvalidTransition(f"a filing that is {filing_status} has no proceedings yet (filed, registered or "
                                "decided only; interim measures may be asked before)", current_status=filing_status,
                                action=kind)
    step = procedure.find(kind)
    if step is None:
        raise invalid_input(f"the {procedure.id} procedure has no step {kind!r} (its steps: "
                            f"{', '.join(s.kind for s in procedure.step)})", "/kind")
    if on > today:
        raise invalid_input(f"{on.isoformat()} is in the future", "/on")
    unknown = set(set_days) - {limit.deadline for limit in step.opens if limit.set_by_body}
    if unknown:
        raise invalid_input(f"the step {kind} does not open a limit set by the body named "
                            f"{', '.join(sorted(unknown))}", "/deadlines")
    opened = []
    for limit in step.opens:
        if limit.set_by_body:
            if limit.deadline not in set_days:
                raise invalid_input(f"enter the day the body set for: {limit.label}", f"/deadlines/{limit.deadline}")
            last_day = set_days[limit.deadline]
            if last_day < on:
                raise invalid_input("the body's time limit ends before the step", f"/deadlines/{limit.deadline}")
        else:
            assert limit.amount is not None and limit.unit is not None  # the loader checks this
            last_day = add_period(on, limit.amount, limit.unit)
        opened.append(OpenedLimit(limit, last_day))
    met = tuple(sorted(set(step.meets) & set(open_limits)))
    events = [deadline_requested(
        filing_id=filing_id, deadline=o.limit.deadline, kind=f"proceeding:{o.limit.deadline}", title=o.limit.label,
        complaint_id=complaint_id, institution_id=institution_id, mechanism=mechanism, last_day=o.last_day,
        calendar="set by the body" if o.limit.set_by_body else f"{o.limit.amount} {o.limit.unit} from {on}",
        hard=o.limit.status != "unconfirmed", rule=o.limit, concerns=concerns, now=now, source=source)
        for o in opened]
    events += [deadline_met(filing_id=filing_id, deadline=deadline, complaint_id=complaint_id,
                            institution_id=institution_id, now=now, source=source) for deadline in met]
    return StepDecision(opened=tuple(opened), met=met, events=tuple(events))


# --- interim measures ---------------------------------------------------------------------------------


class Interim(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"
    EXTENDED = "extended"
    LIFTED = "lifted"


class InterimAction(StrEnum):
    REQUEST = "request"
    GRANT = "grant"
    REFUSE = "refuse"
    EXTEND = "extend"
    LIFT = "lift"


# None: no request yet (or a new one after a refusal or a lifting).
INTERIM: dict[InterimAction, tuple[frozenset[Interim | None], Interim]] = {
    InterimAction.REQUEST: (frozenset({None, Interim.REFUSED, Interim.LIFTED}), Interim.REQUESTED),
    InterimAction.GRANT: (frozenset({Interim.REQUESTED}), Interim.GRANTED),
    InterimAction.REFUSE: (frozenset({Interim.REQUESTED}), Interim.REFUSED),
    InterimAction.EXTEND: (frozenset({Interim.GRANTED, Interim.EXTENDED}), Interim.EXTENDED),
    InterimAction.LIFT: (frozenset({Interim.GRANTED, Interim.EXTENDED}), Interim.LIFTED),
}


def interim_transition(procedure: Procedure, *, state: str | None, action: InterimAction, channel: str | None,
                       on: date, today: date) -> Interim:
    """The interim measures' next state: 409 from a state that does not allow the action; 422 for a
    request without one of the body's channels (the ECtHR refuses Rule 39 requests by e-mail, and the
    reason is said), a channel on any other action, or a day in the future."""
    current = Interim(state) if state else None
    allowed, target = INTERIM[action]
    if current not in allowed:
        raise InvalidTransition(f"interim measures that are {current.value if current else 'not requested'} cannot "
                                f"take the action {action.value}", current_status=current.value if current else None,
                                action=action.value)
    if on > today:
        raise invalid_input(f"{on.isoformat()} is in the future", "/on")
    if action is InterimAction.REQUEST:
        if not procedure.interim_channels:
            raise invalid_input(f"the {procedure.id} procedure has no interim measures", "/action")
        if channel in procedure.interim_refused_channels:
            raise invalid_input(procedure.interim_refused_channels[channel], "/channel")
        if channel not in procedure.interim_channels:
            raise invalid_input(f"a request goes by {', '.join(procedure.interim_channels)}", "/channel")
    elif channel is not None:
        raise invalid_input("only a request records its channel", "/channel")
    return target
